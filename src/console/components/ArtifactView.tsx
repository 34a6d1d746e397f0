// One artifact: download link, a preview as a table (or text) and its column statistics, with a
// chart per numeric column (quartiles) or categorical column (most frequent values).
import { BarChart, formatNumber } from './BarChart.tsx';

export interface ArtifactData {
  id: string;
  name: string;
  contentType: string;
  sizeBytes: number;
  downloadUrl: string;
  preview?: { columns?: string[] | null; rows?: unknown[][] | null; text?: string | null; truncated: boolean } | null;
  statistics?: unknown;
}

interface ColumnStatistics {
  name: string;
  type: string;
  count: number;
  nulls: number;
  mean?: number;
  std?: number | null;
  min?: number;
  q1?: number;
  median?: number;
  q3?: number;
  max?: number;
  distinct?: number;
  top?: { value: string; count: number }[];
}

export function ArtifactView({ artifact }: { artifact: ArtifactData }) {
  const columns = columnStatistics(artifact.statistics);
  return (
    <section class="artifact" aria-label={`Artifact ${artifact.name}`}>
      <header class="artifact-head">
        <h3>{artifact.name}</h3>
        <span class="muted">
          {artifact.contentType} · {formatBytes(artifact.sizeBytes)}
        </span>
        <a href={artifact.downloadUrl} download>
          Download
        </a>
      </header>
      <Preview preview={artifact.preview} />
      {columns.length > 0 && (
        <details class="statistics">
          <summary>Column statistics</summary>
          <div class="table-scroll">
            <table>
              <thead>
                <tr>
                  {['column', 'type', 'count', 'nulls', 'mean', 'std', 'min', 'median', 'max', 'distinct'].map((name, index) => (
                    <th key={name} scope="col" class={index >= 2 ? 'number' : undefined}>
                      {name}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {columns.map((column) => (
                  <tr key={column.name}>
                    <th scope="row">{column.name}</th>
                    <td>{column.type}</td>
                    {[column.count, column.nulls, column.mean, column.std, column.min, column.median, column.max, column.distinct].map(
                      (value, index) => (
                        <td key={index} class="number">
                          {formatNumber(value)}
                        </td>
                      ),
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div class="charts">
            {columns.map((column) => (
              <ColumnChart key={column.name} column={column} />
            ))}
          </div>
        </details>
      )}
    </section>
  );
}

function ColumnChart({ column }: { column: ColumnStatistics }) {
  if (column.type === 'numeric') {
    const bars = (['min', 'q1', 'median', 'mean', 'q3', 'max'] as const)
      .filter((key) => typeof column[key] === 'number')
      .map((key) => ({ label: key, value: column[key] as number }));
    return <BarChart title={`${column.name}: distribution`} bars={bars} />;
  }
  if (column.top?.length) {
    return (
      <BarChart title={`${column.name}: most frequent`} bars={column.top.map((entry) => ({ label: entry.value, value: entry.count }))} />
    );
  }
  return null;
}

function Preview({ preview }: { preview: ArtifactData['preview'] }) {
  if (!preview) return <p class="muted">No preview (start the run with previews to see one).</p>;
  if (preview.columns && preview.rows) {
    return (
      <div class="table-scroll preview">
        <table>
          <caption class="muted">
            Preview: {preview.rows.length} rows{preview.truncated ? ' (truncated)' : ''}
          </caption>
          <thead>
            <tr>
              {preview.columns.map((column, index) => (
                <th key={column} scope="col" class={isNumericColumn(preview.rows!, index) ? 'number' : undefined}>
                  {column}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {preview.rows.map((row, index) => (
              <tr key={index}>
                {row.map((cell, cellIndex) => (
                  <td key={cellIndex} class={typeof cell === 'number' ? 'number' : undefined}>
                    {typeof cell === 'object' && cell !== null ? JSON.stringify(cell) : formatNumber(cell)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    );
  }
  return <pre class="json">{preview.text ?? ''}</pre>;
}

// A header sits over its cells: right-aligned when the column holds numbers (nulls aside).
function isNumericColumn(rows: unknown[][], index: number): boolean {
  const values = rows.map((row) => row[index]).filter((value) => value != null);
  return values.length > 0 && values.every((value) => typeof value === 'number');
}

function columnStatistics(statistics: unknown): ColumnStatistics[] {
  const columns = (statistics as { columns?: unknown } | null)?.columns;
  return Array.isArray(columns) ? (columns as ColumnStatistics[]) : [];
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
