import type { StreamItem } from '../src/index.js';

/**
 * Reads `stream` until an item satisfies `wanted` and returns it, with the items skipped on the
 * way; fails after `timeoutMs`.
 */
export async function readUntil<T extends StreamItem>(
  stream: AsyncIterator<StreamItem>,
  wanted: (item: StreamItem) => item is T,
  timeoutMs = 10_000,
): Promise<{ item: T; skipped: StreamItem[] }> {
  const skipped: StreamItem[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no wanted item within ${timeoutMs} ms; read ${JSON.stringify(skipped)}`)), timeoutMs);
  });
  try {
    for (;;) {
      const next = await Promise.race([stream.next(), timeout]);
      if (next.done) throw new Error(`the stream ended; read ${JSON.stringify(skipped)}`);
      if (wanted(next.value)) return { item: next.value, skipped };
      skipped.push(next.value);
    }
  } finally {
    clearTimeout(timer);
  }
}

export const subscribed =
  (reconnected: boolean) =>
  (item: StreamItem): item is Extract<StreamItem, { kind: 'subscribed' }> =>
    item.kind === 'subscribed' && item.reconnected === reconnected;

export const disconnected = (item: StreamItem): item is Extract<StreamItem, { kind: 'disconnected' }> =>
  item.kind === 'disconnected';

export const eventFor =
  (type: string, containerId: string) =>
  (item: StreamItem): item is Extract<StreamItem, { kind: 'event' }> =>
    item.kind === 'event' && item.event.type === type && 'containerId' in item.event && item.event.containerId === containerId;
