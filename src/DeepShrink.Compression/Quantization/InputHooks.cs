using DeepShrink.Compression.Binarization;
using DeepShrink.Core.Graph;
using DeepShrink.Nn;

namespace DeepShrink.Compression.Quantization;

/// <summary>
/// Rebuilds the input hooks (quantisers, fixed-point rounding, binarisers) recorded on the nodes of a
/// stored model graph, so that a decoded zoo module computes the same function as the model that
/// was compressed. Hook state tensors (running statistics) are filled by the state dict afterwards.
/// </summary>
public static class InputHooks
{
    /// <summary>The factory that rebuilds these hooks when a model is loaded from a file (pass it to <c>ModelIO.Load</c>).</summary>
    public static INodeHookFactory Factory { get; } = new NodeHookFactory();

    /// <summary><see cref="Factory"/> as the one-element list <c>ModelIO</c> takes.</summary>
    public static IReadOnlyList<INodeHookFactory> Factories { get; } = [Factory];

    private sealed class NodeHookFactory : INodeHookFactory
    {
        public IForwardHook? Create(GraphNode node, Module layer) => FromNode(node, new Dictionary<string, Module> { [node.Name] = layer });
    }

    /// <summary>Attaches a hook to every module whose graph node carries hook attributes; returns how many.</summary>
    /// <exception cref="FormatException">A node's hook attributes are inconsistent or name no suitable module.</exception>
    public static int AttachFromGraph(Module model, ModelGraph graph)
    {
        var modules = model.NamedModules().ToDictionary(m => m.Name, m => m.Module);
        int n = 0;
        foreach (var node in graph.Nodes)
        {
            var hook = FromNode(node, modules);
            if (hook is null) continue;
            modules[node.Name].ForwardHook = hook;
            n++;
        }
        return n;
    }

    private static IForwardHook? FromNode(GraphNode node, Dictionary<string, Module> modules)
    {
        var a = node.Attrs;
        bool q = a.ContainsKey(InputQuantizer.ScaleAttr), f = a.ContainsKey(FixedPointInputHook.WordAttr), b = a.ContainsKey(BinaryInputHook.BinaryAttr);
        if (!q && !f && !b) return null;
        if ((q ? 1 : 0) + (f ? 1 : 0) + (b ? 1 : 0) > 1) throw new FormatException($"graph node '{node.Name}' has more than one kind of input hook");
        if (!modules.TryGetValue(node.Name, out var module)) throw new FormatException($"graph node '{node.Name}' has an input hook but the model has no such module");
        try
        {
            if (q)
            {
                var p = new QuantParams((float)Get(node, InputQuantizer.ScaleAttr), Int(node, InputQuantizer.ZeroPointAttr),
                    Int(node, InputQuantizer.MinAttr), Int(node, InputQuantizer.MaxAttr));
                Core.Ops.FakeQuantize(new Core.Tensor(1), p.Scale, p.ZeroPoint, p.QMin, p.QMax); // validates the parameters
                return new InputQuantizer { Params = p };
            }
            if (f) return new FixedPointInputHook(new FixedPointFormat(Int(node, FixedPointInputHook.WordAttr), Int(node, FixedPointInputHook.FracAttr)), null, null);
            var hook = BinaryInputHook.For(module, Int(node, BinaryInputHook.ScaleAttr) == 1);
            if (node.Attrs.ContainsKey(BinaryInputHook.EpsAttr) && (float)Get(node, BinaryInputHook.EpsAttr) is var eps && eps != hook.Eps)
                throw new FormatException($"graph node '{node.Name}': unsupported {BinaryInputHook.EpsAttr} {eps}");
            return hook;
        }
        catch (ArgumentException e) { throw new FormatException($"graph node '{node.Name}': invalid input hook ({e.Message})"); }
        catch (NotSupportedException e) { throw new FormatException($"graph node '{node.Name}': {e.Message}"); }
    }

    private static double Get(GraphNode node, string key)
        => node.Attrs.TryGetValue(key, out var v) && v.Kind == AttrKind.Number && double.IsFinite(v.AsNumber()) ? v.AsNumber() : throw new FormatException($"graph node '{node.Name}' lacks a finite '{key}'");

    private static int Int(GraphNode node, string key)
    {
        double v = Get(node, key);
        if (v != Math.Floor(v) || v < int.MinValue || v > int.MaxValue) throw new FormatException($"graph node '{node.Name}': '{key}' = {v} is not an integer");
        return (int)v;
    }
}
