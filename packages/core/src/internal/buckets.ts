/**
 * @internal Time buckets, the retry budget's scheme (a window cut into `n` buckets of
 * `bucketMillis`, kept in a ring of `n` slots) as plain functions, so the circuit
 * breaker's `sampling` window and the budget's ledger step the same way.
 *
 * No loop runs over time: the bucket of an instant is one division, and moving the ring
 * forward clears at most `n` slots, counted by slot, never by bucket number (at
 * epoch-sized times with tiny buckets `k + 1 === k` in floating point, so a loop over
 * bucket numbers would never end).
 */

/** @internal The bucket that holds `nowMillis`. */
export const bucketOf = (nowMillis: number, bucketMillis: number): number => Math.floor(nowMillis / bucketMillis)

/** @internal The ring slot of bucket `k` (exact for every integer-valued double). */
export const slotOf = (k: number, n: number): number => {
  const s = k % n
  return s < 0 ? s + n : s
}

/**
 * @internal Moving the ring from bucket `from` (the last one written; -Infinity for none)
 * to bucket `to`: calls `clear(slot)` for each slot whose bucket left the window, at most
 * `n` calls. Returns false when `to` is not after `from` (time never goes back: the
 * caller keeps writing into `from`'s bucket).
 */
export const advance = (from: number, to: number, n: number, clear: (slot: number) => void): boolean => {
  if (!(to > from)) return false
  const gap = to - from
  if (gap >= n || !Number.isFinite(from)) {
    for (let s = 0; s < n; s++) clear(s)
    return true
  }
  const first = slotOf(from, n)
  for (let i = 1; i <= gap; i++) clear((first + i) % n)
  return true
}
