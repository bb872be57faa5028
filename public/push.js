// "Enable push on this device" on the Alerts page: asks the browser for
// permission, subscribes with the server's VAPID key and registers the
// subscription as this user's push channel (POST /api/v1/push/subscriptions).
// The service worker (sw.js) shows what arrives.
(function () {
  if (window.__dropwatchPush) return;
  window.__dropwatchPush = true;
  const $ = (id) => document.getElementById(id);
  const say = (text) => { const s = $('push-status'); if (s) s.textContent = text; };
  const bytes = (b64) => {
    const s = (b64 + '==='.slice((b64.length + 3) % 4)).replace(/-/g, '+').replace(/_/g, '/');
    return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  };
  const supported = () => 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
  const problem = async (res) => {
    try { const p = await res.json(); return p.detail || p.title || res.statusText; } catch (e) { return res.statusText; }
  };
  const device = () => {
    const ua = navigator.userAgent;
    const os = /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Mac/.test(ua) ? 'Mac' : /Windows/.test(ua) ? 'Windows' : /Linux/.test(ua) ? 'Linux' : 'device';
    const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrome\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : 'browser';
    return browser + ' on ' + os;
  };

  async function refresh() {
    const on = $('push-enable'), off = $('push-disable');
    if (!on || !off) return;
    if (!supported()) { say('This browser cannot receive push notifications (on iPhone, add Dropwatch to the home screen first).'); return; }
    const reg = await navigator.serviceWorker.ready;
    const sub = await reg.pushManager.getSubscription();
    on.hidden = !!sub;
    off.hidden = !sub;
    if (Notification.permission === 'denied') say('Notifications are blocked for this site in the browser settings.');
  }

  async function enable() {
    try {
      const permission = await Notification.requestPermission();
      if (permission !== 'granted') { say('Notifications were not allowed.'); return; }
      const keyRes = await fetch('/api/v1/push/key', { credentials: 'same-origin' });
      if (!keyRes.ok) { say('Could not get the push key: ' + (await problem(keyRes))); return; }
      const { public_key } = await keyRes.json();
      const reg = await navigator.serviceWorker.ready;
      const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: bytes(public_key) });
      const res = await fetch('/api/v1/push/subscriptions', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: device(), subscription: sub.toJSON() }),
      });
      if (!res.ok) { await sub.unsubscribe(); say('The server refused the subscription: ' + (await problem(res))); return; }
      location.reload();
    } catch (e) {
      say('Could not turn on push: ' + e.message);
    }
  }

  async function disable() {
    try {
      const reg = await navigator.serviceWorker.ready;
      const sub = await reg.pushManager.getSubscription();
      if (sub) {
        await fetch('/api/v1/push/subscriptions', {
          method: 'DELETE',
          credentials: 'same-origin',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ endpoint: sub.endpoint }),
        });
        await sub.unsubscribe();
      }
      location.reload();
    } catch (e) {
      say('Could not turn off push: ' + e.message);
    }
  }

  document.addEventListener('click', (e) => {
    const id = e.target && e.target.id;
    if (id === 'push-enable') enable();
    if (id === 'push-disable') disable();
  });
  // The buttons arrive with the page, or later after in-app navigation.
  let seen = null;
  const watch = () => {
    const on = $('push-enable');
    if (on && on !== seen) { seen = on; refresh(); }
  };
  new MutationObserver(watch).observe(document.documentElement, { childList: true, subtree: true });
  watch();
})();
