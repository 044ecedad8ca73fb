// The subscriber page at "/": what the lists are, why they exist, and copy-paste setup per tool.
// Plain server-rendered HTML, no scripts, no external assets. Rendered once per index version:
// its addresses come from lists.public_url, never from a request (a Host header would make a
// page per client, and behind a TLS proxy the request says http).

interface IndexList {
  name: string;
  /** "networks": address prefixes (lists/<name>.networks); absent: a domain list. */
  kind?: 'networks';
  title: string;
  description: string;
  license: string | null;
  version: string;
  entries: number;
  hosts?: number;
  last_modified: string;
  formats: Record<string, string>;
  sha256: Record<string, string>;
  manifest: string;
  signature: string | null;
  changes?: { json: string; atom: string } | null;
  guarded?: { domain: string; protects: string }[];
}

export interface Index {
  homepage: string | null;
  signing_key: string | null;
  signing_key_sha256: string | null;
  lists: IndexList[];
}

/** Stands for this server's address in copy-paste text when lists.public_url is not set. */
const PLACEHOLDER = '<server>';

/** `publicUrl`: lists.public_url, or "" / undefined when it is not set (links are then paths). */
export function renderListsPage(index: Index, publicUrl: string | undefined): string {
  const base = publicUrl ?? '';
  const absolute = (url: string): boolean => /^https?:\/\//.test(url);
  /** For href: a browser resolves a path against the page it is on. */
  const abs = (url: string): string => (absolute(url) ? url : `${base}${url}`);
  /** For text a subscriber copies into another tool: a path needs the server's address before it. */
  const shown = (url: string): string => (absolute(url) || base ? abs(url) : `${PLACEHOLDER}${url}`);
  const first = index.lists.find((l) => l.name === 'tiktok') ?? index.lists[0];
  const path = (format: string): string => first?.formats[format] ?? `/lists/tiktok/${format}`;
  const url = (format: string): string => shown(path(format));
  const rows = index.lists
    .map(
      (l) => `<tr><td><b>${esc(l.title)}</b> <code>${esc(l.name)}</code><br><small>${esc(l.description)}</small></td>
<td>${l.kind === 'networks' ? `${l.entries} network prefixes` : `${l.entries} domains<br>${l.hosts ?? l.entries} names (hosts)`}</td><td><code>${esc(l.version)}</code><br><small>${esc(l.last_modified)}</small></td>
<td>${Object.entries(l.formats)
        .map(([f, u]) => `<a href="${esc(abs(u))}">${esc(f)}</a>`)
        .join(' · ')}<br><small><a href="${esc(abs(l.manifest))}">sha256sums</a>${l.signature ? ` · <a href="${esc(abs(l.signature))}">signature</a>` : ''}${
        l.changes ? `<br>what changed and why: <a href="${esc(abs(l.changes.json))}">changes</a> (JSON) · <a href="${esc(abs(l.changes.atom))}">Atom feed</a>` : ''
      }${guardedNote(l.guarded)}</small></td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>dnsward blocklists: TikTok and ByteDance</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4rem;vertical-align:top;text-align:left}
pre{background:#f5f5f5;padding:.6rem;overflow-x:auto}code{background:#f5f5f5;padding:0 .2rem}</style></head>
<body>
<h1>TikTok and ByteDance blocklists</h1>
<p>These lists block the TikTok app and web site (<code>tiktok</code>), ByteDance's other products (<code>bytedance</code>),
and the usual ways devices route around a filtering resolver (<code>doh-bypass</code>). They are maintained with dnsward, a DNS
filtering resolver built to enforce the 2023 advice of the Belgian Centre for Cybersecurity: ban TikTok on government service
devices, advise against it on personal devices with access to internal networks, and ask the private sector to be vigilant.
The same lists that government networks enforce are published here for anyone running Pi-hole, AdGuard Home, Unbound, BIND or dnsmasq.</p>
<p>Every entry records why it is listed (its sources and the date it was added). Shared infrastructure (Akamai, Fastly, CloudFront,
Google, Apple, ...) is never listed as a whole: where TikTok uses a specific host on a shared CDN, only that host is listed.
Blocking <code>tiktok</code> also blocks ByteDance infrastructure the app shares with CapCut, Lark and other ByteDance apps.</p>

<h2>Lists</h2>
<table><tr><th>List</th><th>Size</th><th>Version</th><th>Formats</th></tr>
${rows}
</table>
<p>Machine-readable index: <a href="${esc(abs('/lists'))}">${esc(shown('/lists'))}</a>. Files carry ETag and Last-Modified,
answer conditional requests with 304, and are served gzip or brotli compressed when asked.</p>
<p>Before you update, read what changed: every list version has a changelog entry (entries added and removed, each with its
reason and evidence), linked above and from the <code>Changes:</code> line of every file's header. Subscribe to the Atom feed
(<code>${esc(first ? shown(first.changes?.atom ?? `/lists/${first.name}/changes.atom`) : '/lists/tiktok/changes.atom')}</code>) in a feed reader to hear of each new version.</p>

<h2>Subscribe</h2>${
    base
      ? ''
      : `
<p>Below, <code>${esc(PLACEHOLDER)}</code> stands for this server's address: the start of the address of this page, such as
<code>https://lists.example.org</code>. (The operator can set <code>lists.public_url</code> to show full addresses here.)</p>`
  }
<h3>Pi-hole</h3>
<p>Add <code>${esc(url('adblock'))}</code> as a blocklist (Lists in Pi-hole v6, Adlists in v5), then run <code>pihole -g</code>.
The adblock format blocks each domain with all its subdomains. Pi-hole reads it since v5.16 (March 2023); v6 (February 2025)
reads it too. An older Pi-hole counts these lines as invalid: give it the hosts format instead (exact names only).</p>
<h3>AdGuard Home</h3>
<p>Filters → DNS blocklists → Add blocklist → Add a custom list: <code>${esc(url('adblock'))}</code></p>
<h3>Unbound</h3>
<p>As a response policy zone (refreshed on the SOA refresh timer):</p>
<pre>server:
  module-config: "respip validator iterator"
rpz:
  name: tiktok.rpz.
  url: "${esc(url('rpz'))}"
  zonefile: /var/lib/unbound/tiktok.rpz</pre>
<p>Or as local zones: download <code>${esc(url('unbound'))}</code> to <code>/etc/unbound/tiktok.conf</code> and add
<code>include: "/etc/unbound/tiktok.conf"</code> at the top level of <code>unbound.conf</code>.</p>
<h3>BIND 9</h3>
<pre>options { response-policy { zone "tiktok.rpz"; }; };
zone "tiktok.rpz" { type primary; file "/etc/bind/tiktok.rpz"; allow-query { none; }; };</pre>
<p>Refresh from cron: <code>curl -fsS -z /etc/bind/tiktok.rpz -o /etc/bind/tiktok.rpz ${esc(url('rpz'))} &amp;&amp; named-checkzone tiktok.rpz /etc/bind/tiktok.rpz &amp;&amp; rndc reload tiktok.rpz</code></p>
<h3>dnsmasq</h3>
<p>dnsmasq 2.86 or newer: <code>${esc(url('dnsmasq'))}</code>; older versions: <code>${esc(url('dnsmasq-legacy'))}</code>.
Save it as <code>/etc/dnsmasq.d/tiktok.conf</code> (or load it with <code>conf-file=</code>), check with <code>dnsmasq --test</code>, and restart dnsmasq.</p>
<h3>hosts files</h3>
<p><code>${esc(url('hosts'))}</code>: <code>0.0.0.0 name</code> lines. A hosts file matches exact names only, so known subdomains are
written out, but names the list does not know are not blocked: prefer a DNS-level format where you can.</p>

<h2>Verify</h2>
<p>Each list version has a <code>sha256sums</code> manifest of all its formats${
    index.signing_key
      ? `, signed with Ed25519. The public key is at <a href="${esc(abs(index.signing_key))}">${esc(shown(index.signing_key))}</a>${
          index.signing_key_sha256
            ? `; its fingerprint (SHA-256 of the key in DER form) is <code>${esc(index.signing_key_sha256)}</code>. Get the key once, compare the fingerprint with the one
your list operator gives you over another channel, and keep it`
            : ''
        }`
      : ''
  }.</p>
<pre>${
    index.signing_key
      ? `curl -fsSO ${esc(shown(index.signing_key))}
openssl pkey -pubin -in signing-key.pem -outform DER | sha256sum     # once: the fingerprint above
`
      : ''
  }curl -fsSO ${esc(url('hosts'))}
curl -fsSO ${esc(shown(first?.manifest ?? '/lists/tiktok/sha256sums'))}${
    index.signing_key
      ? `
curl -fsSO ${esc(shown(first?.signature ?? '/lists/tiktok/sha256sums.sig'))}
openssl pkeyutl -verify -pubin -inkey signing-key.pem -rawin -in sha256sums -sigfile sha256sums.sig`
      : ''
  }
sha256sum -c --ignore-missing sha256sums</pre>
<p>Scope, inclusion criteria and how to propose a change: see <code>docs/LISTS.md</code> in the dnsward repository${
    index.homepage ? ` and <a href="${esc(index.homepage)}">${esc(index.homepage)}</a>` : ''
  }.</p>
</body></html>
`;
}

/** Entries the collateral guard dropped from a list (normally none: lists check enforces never-block). */
function guardedNote(guarded: IndexList['guarded']): string {
  if (!guarded || guarded.length === 0) return '';
  const shownNames = guarded.slice(0, 5).map((g) => `<code>${esc(g.domain)}</code>`).join(', ');
  return `<br>not enforced (would block shared infrastructure): ${shownNames}${guarded.length > 5 ? ` and ${guarded.length - 5} more` : ''}`;
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}
