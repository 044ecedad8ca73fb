// Every served format of a network list (lists/<name>.networks), in the order the index shows
// them: the prefixes as consumers of address lists read them. Domain lists have RENDERERS.
import { adguardIpRenderer } from './adguard-ip.ts';
import { cidrRenderer } from './cidr.ts';
import type { NetworkRenderer } from './header.ts';
import { networkJsonRenderer } from './network-json.ts';
import { rpzIpRenderer } from './rpz-ip.ts';

export type { NetworkRenderer, NetworkRenderSource } from './header.ts';

export const NETWORK_RENDERERS: readonly NetworkRenderer[] = [cidrRenderer, rpzIpRenderer, adguardIpRenderer, networkJsonRenderer];

export function networkRendererFor(format: string): NetworkRenderer | undefined {
  return NETWORK_RENDERERS.find((r) => r.format === format);
}
