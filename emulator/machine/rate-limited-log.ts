/**
 * Rate limiting for guest-misbehaviour logs (ARCHITECTURE principle 3: log and count,
 * never throw). Each distinct message key is printed at most `burst` times; later
 * repeats are counted and summarised once every `every` occurrences.
 */

/** Creates a logger that passes at most `burst` copies of each message to `sink`. */
export function rateLimitedLog(sink: (message: string) => void, burst = 5, every = 1000): (message: string) => void {
  const counts = new Map<string, number>();
  return (message: string) => {
    // Numbers vary between repeats of the same complaint; key on the shape.
    const key = message.replace(/0x[0-9a-f]+|\d+/gi, '#');
    const n = (counts.get(key) ?? 0) + 1;
    if (counts.size < 10_000 || counts.has(key)) counts.set(key, n);
    if (n <= burst) sink(message);
    else if (n % every === 0) sink(`${message} (repeated ${n} times)`);
  };
}
