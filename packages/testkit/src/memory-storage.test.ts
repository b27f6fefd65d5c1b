import { memoryStorage } from '@modhost/core';
import { describeStorageAdapter } from './describe-storage-adapter.js';

// A backend that is down: every Map operation throws, as a closed database pool would.
class DownMap extends Map<string, string> {
  override get(): never {
    throw new Error('backend unavailable');
  }
  override set(): never {
    throw new Error('backend unavailable');
  }
  override delete(): never {
    throw new Error('backend unavailable');
  }
  override keys(): never {
    throw new Error('backend unavailable');
  }
}

// Two adapters over one Map are what two processes over one database look like.
const maps = new WeakMap<object, Map<string, string>>();

describeStorageAdapter('memory', {
  create: () => {
    const map = new Map<string, string>();
    const adapter = memoryStorage({ map });
    maps.set(adapter, map);
    return adapter;
  },
  createPeer: (first) => memoryStorage(maps.has(first) ? { map: maps.get(first) as Map<string, string> } : {}),
  createBroken: () => memoryStorage({ map: new DownMap() }),
});
