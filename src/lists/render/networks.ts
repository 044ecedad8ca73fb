// Every served format of a network list (lists/<name>.networks), in the order the index shows
// them: the prefixes as consumers of address lists read them. Domain lists have RENDERERS.
import { adguardIpRenderer } from './adguard-ip.ts';
import { cidrRenderer } from './cidr.ts';
import type { HeaderSource, RenderOptions } from './header.ts';
import { networkJsonRenderer } from './network-json.ts';
import { rpzIpRenderer } from './rpz-ip.ts';

/** What a network renderer reads: the list as network-list.ts parses it. */
export interface NetworkRenderSource extends HeaderSource {
  readonly name: string;
  /** Sorted, unique prefixes ("71.18.1.0/24", "2605:340::/47"). */
  readonly networks: readonly string[];
  readonly entries: readonly { prefix: string; seen: string; asn: string; sources: readonly string[]; note: string }[];
  readonly sourceCodes: Readonly<Record<string, string>>;
}

export interface NetworkRenderer {
  /** URL path segment: /lists/<name>/<format>. */
  readonly format: string;
  /** File name used by `lists build` and in sha256sums. */
  readonly fileName: (list: string) => string;
  readonly contentType: string;
  /** The "Syntax:" header value: which consumers take this file. */
  readonly syntax: string;
  render(list: NetworkRenderSource, options: RenderOptions): string;
}

export const NETWORK_RENDERERS: readonly NetworkRenderer[] = [cidrRenderer, rpzIpRenderer, adguardIpRenderer, networkJsonRenderer];

export function networkRendererFor(format: string): NetworkRenderer | undefined {
  return NETWORK_RENDERERS.find((r) => r.format === format);
}
