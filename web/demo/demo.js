// The demo's live event log: shows the pytrigger:* events this page receives.
// A plain same-origin script (no inline code), so the demo runs under a strict CSP.
(() => {
  const log = document.createElement('div');
  log.id = 'event-log';
  log.setAttribute('aria-live', 'off');
  const title = document.createElement('b');
  title.textContent = 'pytrigger events';
  log.append(title);
  const show = (kind, text) => {
    const line = document.createElement('div');
    line.className = kind;
    line.textContent = text;
    title.after(line);
    while (log.childElementCount > 7) log.lastElementChild.remove();
  };
  const ms = (x) => Math.round(x) + ' ms';
  const on = (name, fmt) => document.addEventListener('pytrigger:' + name, (e) => show(name, fmt(e.detail)));
  on('ready', (d) => `ready  ${d.mode} · v${d.version} · boot ${ms(d.bootMs)}`);
  on('gate', (d) => `gate   ${d.trigger}`);
  on('fire', (d) => `fire   ${d.trigger} · ${d.replayed ? 'replayed' : ms(d.latencyMs)}`);
  on('expire', (d) => `expire ${d.trigger}`);
  on('suppressed', (d) => `quiet  ${d.trigger} (${d.reason})`);
  on('cta', (d) => `cta    ${d.trigger}`);
  on('error', (d) => `error  ${d.message}`);
  // The site's consent control (a real site would use its consent platform):
  // pytrigger stores and sends nothing until the visitor allows it.
  const consent = document.createElement('button');
  consent.type = 'button';
  consent.id = 'consent-toggle';
  const granted = () => localStorage.getItem('pytrigger:consent') === 'granted';
  const label = () => {
    consent.textContent = granted() ? 'Stop sharing anonymous stats' : 'Share anonymous stats';
  };
  consent.addEventListener('click', () => {
    if (window.pytrigger) window.pytrigger.consent(!granted());
    label();
  });
  label();
  log.prepend(consent);
  const mount = () => document.body.append(log);
  if (document.body) mount(); else document.addEventListener('DOMContentLoaded', mount);
})();
