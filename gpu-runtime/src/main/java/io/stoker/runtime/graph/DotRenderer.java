package io.stoker.runtime.graph;

import io.stoker.runtime.actor.ActorHandle;
import io.stoker.runtime.channel.Channel;
import io.stoker.runtime.channel.ChannelKind;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Renders a compiled graph and its per-actor schedules as Graphviz DOT. */
final class DotRenderer {
    private DotRenderer() {
    }

    static String graph(String name, GraphLayout layout) {
        StringBuilder sb = new StringBuilder();
        sb.append("digraph ").append(quote(name)).append(" {\n");
        sb.append("  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n");
        sb.append("  n").append(layout.input().id).append(" [shape=ellipse, label=\"input\"];\n");
        int cluster = 0;
        for (Map.Entry<ActorHandle<?>, List<Node<?>>> e : layout.schedules().entrySet()) {
            sb.append("  subgraph cluster_").append(cluster++).append(" {\n");
            sb.append("    label=").append(quote("actor " + e.getKey().name()
                    + (e.getKey().gpuIds().isEmpty() ? "" : " (gpu " + String.join(",", e.getKey().gpuIds()) + ")")))
                    .append(";\n");
            for (Node<?> t : e.getValue()) {
                String shape = t.kind == NodeKind.FUNCTION ? ", shape=component"
                        : t.kind == NodeKind.COLLECTIVE ? ", shape=hexagon" : "";
                sb.append("    n").append(t.id).append(" [label=").append(quote(t.label())).append(shape).append("];\n");
            }
            sb.append("  }\n");
        }
        java.util.Set<Node<?>> constants = new java.util.LinkedHashSet<>();
        for (Node<?> t : layout.tasks()) {
            for (Node<?> arg : t.upstream) {
                if (GraphLayout.base(arg).kind == NodeKind.CONSTANT && constants.add(GraphLayout.base(arg))) {
                    Node<?> c = GraphLayout.base(arg);
                    sb.append("  n").append(c.id).append(" [shape=note, label=").append(quote(c.label())).append("];\n");
                }
            }
        }
        for (Node<?> t : layout.tasks()) {
            for (Node<?> arg : t.upstream) {
                Projection p = GraphLayout.projection(arg);
                sb.append("  n").append(GraphLayout.base(arg).id).append(" -> n").append(t.id);
                if (p != null) {
                    sb.append(" [label=").append(quote(p.describe())).append("]");
                }
                sb.append(";\n");
            }
            for (Node<?> c : t.controlDeps) {
                sb.append("  n").append(GraphLayout.base(c).id).append(" -> n").append(t.id)
                        .append(" [style=dashed, label=\"after\"];\n");
            }
        }
        Map<CollectiveGroup, Boolean> drawn = new HashMap<>();
        for (Node<?> t : layout.tasks()) {
            if (t.collective != null && drawn.put(t.collective, Boolean.TRUE) == null) {
                List<Node<?>> ps = t.collective.participants;
                for (int i = 1; i < ps.size(); i++) {
                    sb.append("  n").append(ps.get(i - 1).id).append(" -> n").append(ps.get(i).id)
                            .append(" [dir=none, style=bold, color=blue, constraint=false];\n");
                }
            }
        }
        for (int i = 0; i < layout.outputs().size(); i++) {
            Node<?> o = layout.outputs().get(i);
            sb.append("  out").append(i).append(" [shape=ellipse, label=").append(quote("output " + i)).append("];\n");
            sb.append("  n").append(GraphLayout.base(o).id).append(" -> out").append(i);
            Projection p = GraphLayout.projection(o);
            if (p != null) {
                sb.append(" [label=").append(quote(p.describe())).append("]");
            }
            sb.append(";\n");
        }
        return sb.append("}\n").toString();
    }

    static String schedules(String name, GraphLayout layout, List<Channel<Object>> channels) {
        Map<String, String> kinds = new HashMap<>();
        for (Channel<Object> c : channels) {
            kinds.put(c.name(), c instanceof io.stoker.runtime.channel.DeviceChannel
                    ? "gpu " + ((io.stoker.runtime.channel.DeviceChannel) c).gpuKind().label()
                    : c.kind().name().toLowerCase(java.util.Locale.ROOT));
        }
        StringBuilder sb = new StringBuilder();
        sb.append("digraph ").append(quote(name + " schedules")).append(" {\n");
        sb.append("  node [shape=record, fontname=\"Helvetica\"];\n");
        sb.append("  caller [shape=ellipse, label=\"caller (execute)\"];\n");
        int cluster = 0;
        for (Map.Entry<ActorHandle<?>, List<Node<?>>> e : layout.schedules().entrySet()) {
            sb.append("  subgraph cluster_").append(cluster++).append(" {\n");
            sb.append("    label=").append(quote("actor " + e.getKey().name() + " schedule")).append(";\n");
            List<Node<?>> ops = e.getValue();
            for (int i = 0; i < ops.size(); i++) {
                Node<?> t = ops.get(i);
                sb.append("    s").append(t.id).append(" [label=")
                        .append(quote("{" + i + ": " + t.label() + "|read " + ops(layout.sources().get(t)) + "|compute|write}")).append("];\n");
                if (i > 0) {
                    sb.append("    s").append(ops.get(i - 1).id).append(" -> s").append(t.id)
                            .append(" [style=bold, label=\"next\"];\n");
                }
            }
            sb.append("  }\n");
        }
        for (Node<?> t : layout.tasks()) {
            for (Node<?> s : layout.sources().get(t)) {
                String from = s.kind == NodeKind.INPUT ? "caller" : "s" + s.id;
                String k = kinds.get(s.label() + " -> " + t.label());
                sb.append("  ").append(from).append(" -> s").append(t.id).append(" [style=dashed, label=")
                        .append(quote(k == null ? "" : k)).append("];\n");
            }
        }
        for (int i = 0; i < layout.outputs().size(); i++) {
            sb.append("  s").append(GraphLayout.base(layout.outputs().get(i)).id)
                    .append(" -> caller [style=dotted, label=").append(quote("result " + i)).append("];\n");
        }
        return sb.append("}\n").toString();
    }

    private static String ops(List<Node<?>> sources) {
        StringBuilder sb = new StringBuilder();
        for (Node<?> s : sources) {
            if (sb.length() > 0) {
                sb.append(", ");
            }
            sb.append(s.label());
        }
        return sb.toString();
    }

    private static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
