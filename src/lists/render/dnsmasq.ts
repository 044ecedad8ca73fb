// dnsmasq: "local=/name/" (>= 2.86: never forwarded, NXDOMAIN for the name and its subdomains)
// and the older "server=/name/" form for dnsmasq <= 2.85. Load with conf-file=.
import { commentHeader, headerFields, type Renderer } from './header.ts';

function dnsmasq(format: string, option: 'local' | 'server', syntax: string): Renderer {
  return {
    format,
    fileName: (list) => `${list}.${format}.conf`,
    contentType: 'text/plain; charset=utf-8',
    syntax,
    render(snapshot, options) {
      return commentHeader('#', headerFields(snapshot, options, syntax, snapshot.domains.length)) + snapshot.domains.map((d) => `${option}=/${d}/\n`).join('');
    },
  };
}

export const dnsmasqRenderer = dnsmasq('dnsmasq', 'local', 'dnsmasq 2.86 or newer (local=/name/, conf-file=)');
export const dnsmasqLegacyRenderer = dnsmasq('dnsmasq-legacy', 'server', 'dnsmasq 2.85 or older (server=/name/, conf-file=)');
