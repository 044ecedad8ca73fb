// Keys a JSON text repeats within one object. JSON.parse keeps the last of repeated keys and
// hides the rest, so log-line tests check the raw text with this instead.

/** "key" for every repeat, "a.b" for repeats inside nested objects; [] when none. */
export function repeatedKeys(json: string): string[] {
  const repeats: string[] = [];
  // One frame per open object or array: its keys so far, and whether a key comes next.
  const stack: { keys: Set<string> | undefined; expectKey: boolean; path: string }[] = [];
  let lastKey = '';
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    const top = stack.at(-1);
    if (c === '"') {
      let end = i + 1;
      while (json[end] !== '"') end += json[end] === '\\' ? 2 : 1;
      const text = JSON.parse(json.slice(i, end + 1)) as string;
      if (top?.keys && top.expectKey) {
        if (top.keys.has(text)) repeats.push(top.path === '' ? text : `${top.path}.${text}`);
        top.keys.add(text);
        top.expectKey = false;
        lastKey = text;
      }
      i = end;
    } else if (c === '{' || c === '[') {
      const path = top?.keys ? (top.path === '' ? lastKey : `${top.path}.${lastKey}`) : (top?.path ?? '');
      stack.push({ keys: c === '{' ? new Set() : undefined, expectKey: c === '{', path });
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',' && top?.keys) {
      top.expectKey = true;
    }
  }
  return repeats;
}
