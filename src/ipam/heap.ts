/**
 * Binary min-heap of items ordered by a key (a subnet index: `<` compares numbers and bigints
 * correctly). The pool keeps slot numbers in it, keyed by their subnet index.
 */
export class MinHeap<T> {
  private readonly items: T[] = [];

  constructor(private readonly keyOf: (item: T) => number | bigint) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const a = this.items;
    const key = this.keyOf(item);
    // Sift up by moving parents down into the hole; the item is written once at the end.
    let i = a.length;
    a.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = a[parent]!;
      if (this.keyOf(p) <= key) break;
      a[i] = p;
      i = parent;
    }
    a[i] = item;
  }

  pop(): T | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    const n = a.length;
    if (n > 0) {
      // Sift the former last item down from the root, moving smaller children up.
      const key = this.keyOf(last);
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && this.keyOf(a[r]!) < this.keyOf(a[l]!) ? r : l;
        if (this.keyOf(a[c]!) >= key) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}
