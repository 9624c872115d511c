/**
 * Directed graphs (DAGs, stream topologies) laid out by dagre and drawn as SVG: boxes with a
 * label, a sub-label and a colour per state, arrows between them.
 */
import dagre from '@dagrejs/dagre';
import { useMemo } from 'react';

export interface GraphNode {
  id: string;
  label: string;
  sublabel?: string;
  /** Colour class: ok, warn, bad, info, muted. */
  tone?: string;
  onClick?: () => void;
}

export interface GraphEdge {
  from: string;
  to: string;
}

export function Graph({ nodes, edges, direction = 'LR', testId }: { nodes: GraphNode[]; edges: GraphEdge[]; direction?: 'LR' | 'TB'; testId?: string }) {
  const layout = useMemo(() => {
    const g = new dagre.graphlib.Graph();
    g.setGraph({ rankdir: direction, nodesep: 24, ranksep: 48, marginx: 8, marginy: 8 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const n of nodes) {
      const chars = Math.max(n.label.length, (n.sublabel ?? '').length * 0.85);
      g.setNode(n.id, { width: Math.min(260, Math.max(90, chars * 7.2 + 24)), height: n.sublabel ? 44 : 32 });
    }
    for (const e of edges) if (g.hasNode(e.from) && g.hasNode(e.to)) g.setEdge(e.from, e.to);
    dagre.layout(g);
    const size = g.graph() as { width?: number; height?: number };
    return {
      width: Math.max(100, size.width ?? 100),
      height: Math.max(40, size.height ?? 40),
      nodes: nodes.map((n) => ({ n, box: g.node(n.id) as { x: number; y: number; width: number; height: number } })),
      edges: g.edges().map((e) => (g.edge(e) as { points: Array<{ x: number; y: number }> }).points),
    };
  }, [nodes, edges, direction]);

  return (
    <div className="graph" data-testid={testId}>
      {/* Fits the container's width, shrinking to 65 % at most (then it scrolls); never grows. */}
      <svg viewBox={`0 0 ${layout.width} ${layout.height}`} style={{ width: '100%', minWidth: layout.width * 0.65, maxWidth: layout.width, height: 'auto' }}>
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" fill="#64748b" />
          </marker>
        </defs>
        {layout.edges.map((pts, i) => (
          <polyline key={i} points={pts.map((p) => `${p.x},${p.y}`).join(' ')} fill="none" stroke="#64748b" strokeWidth="1.3" markerEnd="url(#arrow)" />
        ))}
        {layout.nodes.map(({ n, box }) => (
          <g
            key={n.id}
            className={`node ${n.tone ?? 'info'}${n.onClick ? ' clickable' : ''}`}
            transform={`translate(${box.x - box.width / 2},${box.y - box.height / 2})`}
            onClick={n.onClick}
            data-node={n.id}
          >
            <rect width={box.width} height={box.height} rx="6" />
            <text x={box.width / 2} y={n.sublabel ? 18 : box.height / 2 + 4} textAnchor="middle" className="label">
              {n.label}
            </text>
            {n.sublabel && (
              <text x={box.width / 2} y={34} textAnchor="middle" className="sublabel">
                {n.sublabel}
              </text>
            )}
          </g>
        ))}
      </svg>
    </div>
  );
}
