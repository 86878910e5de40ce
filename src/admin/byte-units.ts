// Byte counts for people: binary units, three significant figures or so. Shared by the
// terminal view (`top`) and the dashboard page (which gets this function's source text,
// so it uses nothing but its argument).

/** `n` bytes as `512 B`, `1.5 KiB`, `120 MiB`, ... (whole numbers from 100 up). */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 || value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}
