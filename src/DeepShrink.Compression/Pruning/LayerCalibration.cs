using DeepShrink.Core;
using DeepShrink.Core.Autograd;
using DeepShrink.Nn;

namespace DeepShrink.Compression.Pruning;

/// <summary>
/// Calibration for data-driven pruning: runs calibration batches through a model (eval mode, no
/// gradients) and captures the inputs of its prunable layers with temporary innermost
/// <see cref="InputCaptureHook"/>s, removed afterwards (also on errors); other hooks stay in place.
/// </summary>
public static class LayerCalibration
{
    /// <summary>The model's <see cref="Linear"/> and <see cref="Conv2d"/> layers by dotted path (weight: path + ".weight").</summary>
    public static IReadOnlyList<(string Name, Module Layer)> PrunableLayers(Module model)
        => model.NamedModules().Where(m => m.Module is Linear or Conv2d).ToList();

    /// <summary>Feeds every input of the named layers to <paramref name="sink"/> (name, input) while running the batches.</summary>
    public static void Capture(Module model, IEnumerable<Tensor> batches, IEnumerable<string> layers, Action<string, Tensor> sink)
    {
        var byName = model.NamedModules().ToDictionary(m => m.Name, m => m.Module);
        var chosen = layers.Select(n => byName.TryGetValue(n, out var m) ? (n, m) : throw new ArgumentException($"model has no layer '{n}'")).ToList();
        var added = new List<(Module Layer, IForwardHook Hook)>();
        bool was = model.Training;
        try
        {
            foreach (var (n, m) in chosen)
            {
                var hook = new InputCaptureHook(x => sink(n, x));
                m.AddForwardHook(hook);
                added.Add((m, hook));
            }
            model.Eval();
            using var _ = Engine.NoGrad();
            foreach (var x in batches) model.Call(x);
        }
        finally
        {
            foreach (var (m, hook) in added) m.RemoveForwardHook(hook);
            model.Train(was);
        }
    }

    /// <summary>
    /// Layer-wise Hessians H = 2 X X^T / n of the named layers (default: all prunable layers) over the
    /// calibration batches, keyed by layer path.
    /// </summary>
    public static Dictionary<string, LayerHessian> CollectHessians(Module model, IEnumerable<Tensor> batches, IEnumerable<string>? layers = null)
    {
        var chosen = (layers ?? PrunableLayers(model).Select(l => l.Name)).ToList();
        var modules = model.NamedModules().ToDictionary(m => m.Name, m => m.Module);
        var result = new Dictionary<string, LayerHessian>();
        foreach (var n in chosen)
        {
            if (!modules.TryGetValue(n, out var m)) throw new ArgumentException($"model has no layer '{n}'");
            result[n] = m switch
            {
                Linear l => new LayerHessian(l.InFeatures),
                Conv2d c => new LayerHessian(c.InChannels / c.Groups * c.KernelH * c.KernelW),
                _ => throw new ArgumentException($"layer '{n}' is a {m.GetType().Name}; layer-wise Hessians need Linear or Conv2d"),
            };
        }
        Capture(model, batches, chosen, (n, x) => result[n].AddInput(modules[n], x));
        return result;
    }
}
