// Dropwatch's service worker.
//
// - The app shell (offline page, styles, icons, manifest) is cached at install.
// - Pages: network first; the last copy of a page is kept for offline use,
//   and a page never seen before shows the offline page.
// - /pkg/* (the wasm bundle and its JS glue): network first, cache as
//   fallback. A stale bundle that does not match the server's HTML would break
//   hydration, so the cache is only used when the network is not there.
// - /api/* (live socket, server functions), /auth/*, /login, /setup and
//   /demo/*: never cached.
// - Signing out (or landing on the sign-in page) forgets every cached page:
//   pages hold the signed-in user's data, and a shared phone must not show
//   them offline to the next person.
const VERSION = 'dropwatch-v3';
const SHELL = [
  '/offline.html',
  '/pkg/dropwatch.css',
  '/favicon.svg',
  '/manifest.webmanifest',
  '/icons/icon-192.png',
  '/icons/icon-512.png',
  '/icons/maskable-512.png',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(VERSION).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== VERSION).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

async function forgetPages(cache) {
  const keys = await cache.keys();
  await Promise.all(
    keys
      .filter((r) => { const p = new URL(r.url).pathname; return !SHELL.includes(p) && !p.startsWith('/pkg/') && !p.startsWith('/icons/'); })
      .map((r) => cache.delete(r)),
  );
}

async function networkFirst(request, fallback) {
  const cache = await caches.open(VERSION);
  try {
    const response = await fetch(request);
    const landed = new URL(response.url || request.url).pathname;
    if (landed === '/login' || landed === '/setup') {
      await forgetPages(cache);
    } else if (response.ok && !response.redirected) {
      cache.put(request, response.clone());
    }
    return response;
  } catch (e) {
    const cached = await cache.match(request);
    if (cached) return cached;
    if (fallback) return (await cache.match(fallback)) || Response.error();
    return Response.error();
  }
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/') || url.pathname.startsWith('/demo/') || url.pathname.startsWith('/auth/')) return;
  if (request.mode === 'navigate') {
    event.respondWith(networkFirst(request, '/offline.html'));
  } else if (url.pathname.startsWith('/pkg/')) {
    event.respondWith(networkFirst(request));
  } else if (SHELL.includes(url.pathname) || url.pathname.startsWith('/icons/')) {
    event.respondWith(caches.match(request).then((hit) => hit || networkFirst(request)));
  }
});

// Web Push: the server sends {title, body, url, icon} encrypted for this
// browser (RFC 8291); the browser hands it here decrypted.
self.addEventListener('push', (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { title: 'Dropwatch', body: event.data ? event.data.text() : '' }; }
  event.waitUntil(self.registration.showNotification(data.title || 'Dropwatch', {
    body: data.body || '',
    icon: data.icon || '/icons/icon-192.png',
    badge: '/icons/icon-192.png',
    data: { url: data.url || '/alerts' },
  }));
});

// A tap on the notification opens the product (or focuses an open tab).
self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || '/alerts';
  event.waitUntil((async () => {
    const tabs = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    for (const tab of tabs) {
      if (tab.url === url && 'focus' in tab) return tab.focus();
    }
    return self.clients.openWindow(url);
  })());
});
