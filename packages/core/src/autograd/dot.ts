/** Exports the autograd graph behind a tensor in Graphviz DOT, for teaching and debugging. */
import type { Tensor } from '../tensor.js';
import type { Node } from './node.js';

export interface DotOptions {
  /** Graph title (default 'autograd'). */
  title?: string;
}

const shapeLabel = (t: Tensor) => `[${t.shape.join(', ')}]`;
const esc = (s: string) => s.replace(/"/g, '\\"');

/** DOT source: op nodes as boxes, leaves that require grad as ellipses, edges from inputs to the op using them. */
export function toDot(output: Tensor, opts: DotOptions = {}): string {
  const ids = new Map<Node | Tensor, string>();
  const id = (k: Node | Tensor) => {
    if (!ids.has(k)) ids.set(k, `n${ids.size}`);
    return ids.get(k)!;
  };
  const lines = [`digraph "${esc(opts.title ?? 'autograd')}" {`, '  rankdir=BT;', '  node [fontname="Helvetica", fontsize=11];'];
  const seen = new Set<Node>();
  const stack: Node[] = output.gradFn ? [output.gradFn] : [];
  lines.push(`  ${id(output)} [label="output ${shapeLabel(output)}", shape=oval, style=filled, fillcolor="#dbeafe"];`);
  if (output.gradFn) lines.push(`  ${id(output.gradFn)} -> ${id(output)};`);
  while (stack.length) {
    const node = stack.pop()!;
    if (seen.has(node)) continue;
    seen.add(node);
    lines.push(`  ${id(node)} [label="${esc(node.name)}", shape=box, style=filled, fillcolor="#fef3c7"];`);
    for (const inp of node.inputs) {
      if (!inp.requiresGrad) continue;
      if (inp.gradFn) {
        lines.push(`  ${id(inp.gradFn)} -> ${id(node)} [label="${shapeLabel(inp)}"];`);
        stack.push(inp.gradFn);
      } else {
        const label = `${inp.name ? inp.name + ' ' : ''}${shapeLabel(inp)}`;
        lines.push(`  ${id(inp)} [label="${esc(label)}", shape=oval, style=filled, fillcolor="#dcfce7"];`);
        lines.push(`  ${id(inp)} -> ${id(node)};`);
      }
    }
  }
  lines.push('}');
  return [...new Set(lines)].join('\n');
}
