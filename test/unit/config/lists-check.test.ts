import { describe, expect, it } from 'vitest';
import { checkSegmentLists } from '../../../src/config/lists-check.ts';
import { parseConfig } from '../../../src/config/load.ts';
import { ErrorCodes } from '../../../src/errors.ts';

const config = parseConfig('segments:\n  - { name: s, networks: ["10.0.0.0/8"], action: block, lists: [tiktok, partner] }\n  - { name: d, networks: ["0.0.0.0/0"], action: allow }\n');

describe('checkSegmentLists', () => {
  it('accepts segments whose lists all exist', () => {
    expect(() => checkSegmentLists(config, new Set(['tiktok', 'partner', 'other']))).not.toThrow();
  });

  it('names each unknown list by its key and offers the known ones', () => {
    expect(() => checkSegmentLists(config, new Set(['tiktok', 'bytedance']), 'my.yaml')).toThrow(
      expect.objectContaining({ code: ErrorCodes.LIST_UNKNOWN, message: 'my.yaml: segments[0].lists[1]: "partner" is not a known list; use one of: bytedance, tiktok' }),
    );
    expect(() => checkSegmentLists(config, new Set())).toThrow('use one of: (none found)');
  });
});
