// A small SVG bar chart: one bar per label, scaled to the largest absolute value.
export function BarChart({ title, bars }: { title: string; bars: { label: string; value: number }[] }) {
  const width = 320;
  const rowHeight = 22;
  const labelWidth = 70;
  const valueWidth = 70;
  const largest = Math.max(...bars.map((bar) => Math.abs(bar.value)), Number.EPSILON);
  const height = bars.length * rowHeight + 4;
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${width} ${height}`} width="100%" role="img" aria-label={title}>
        <title>{title}</title>
        {bars.map((bar, index) => {
          const y = index * rowHeight + 2;
          const barWidth = ((width - labelWidth - valueWidth) * Math.abs(bar.value)) / largest;
          return (
            <g key={bar.label}>
              <text x={labelWidth - 6} y={y + 15} text-anchor="end" class="chart-label">
                {bar.label}
              </text>
              <rect
                x={labelWidth}
                y={y + 3}
                width={Math.max(barWidth, 1)}
                height={rowHeight - 6}
                class={bar.value < 0 ? 'bar bar-negative' : 'bar'}
              />
              <text x={labelWidth + barWidth + 4} y={y + 15} class="chart-value">
                {formatNumber(bar.value)}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption>{title}</figcaption>
    </figure>
  );
}

export function formatNumber(value: unknown): string {
  if (typeof value !== 'number') return value == null ? '—' : String(value);
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 1000 || Math.abs(value) < 0.001
    ? value.toExponential(3)
    : value.toFixed(4).replace(/0+$/, '').replace(/\.$/, '');
}
