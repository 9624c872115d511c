/** Number, size, rate and time formatting for the UI (pure: tested under test/web). */

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = Math.abs(n);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const s = i === 0 ? String(Math.round(v)) : v >= 100 ? v.toFixed(0) : v.toFixed(1);
  return `${n < 0 ? '-' : ''}${s} ${units[i]}`;
}

export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return Math.round(n).toLocaleString('en-US');
}

/** A rate per second with a unit: `12.5/s`, `1.2k/s`, `3.4 MiB/s`. */
export function formatRate(n: number | null | undefined, unit: 'records' | 'bytes' = 'records'): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  if (unit === 'bytes') return `${formatBytes(n)}/s`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M/s`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k/s`;
  return `${n >= 100 ? Math.round(n) : Math.round(n * 10) / 10}/s`;
}

/** A duration in seconds as people say it: `850 ms`, `12.3 s`, `4 min 5 s`, `2 h 3 min`. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${Math.round(seconds - m * 60)} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m - h * 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** `2026-01-01 12:00:00` in local time (ISO-like, sortable). */
export function formatTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** `5 s ago`, `3 min ago`. */
export function formatAgo(ms: number | null | undefined, now = Date.now()): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  const s = Math.max(0, (now - ms) / 1000);
  if (s < 1) return 'just now';
  return `${formatDuration(s)} ago`;
}

export function truncate(s: string | null | undefined, max: number): string {
  if (s === null || s === undefined) return '';
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** A topic-config value in words: `604800000` under `retentionMs` is `7 d 0 h`, `null` is `none`. */
export function formatConfigValue(key: string, value: unknown): string {
  if (value === null || value === undefined) return 'none';
  if (typeof value === 'number' && /Ms$/.test(key)) return value === 0 ? '0' : formatDuration(value / 1000);
  if (typeof value === 'number' && /Bytes$/.test(key)) return formatBytes(value);
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
