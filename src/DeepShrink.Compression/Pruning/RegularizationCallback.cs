using DeepShrink.Nn;
using DeepShrink.Nn.Training;

namespace DeepShrink.Compression.Pruning;

/// <summary>
/// Applies a <see cref="Regularizer"/> to weight tensors after every optimiser step, with the
/// optimiser's current learning rate (proximal gradient training); <see cref="ThresholdPruner"/> then
/// turns the result into masks.
/// </summary>
public sealed class RegularizationCallback : ITrainingCallback
{
    private readonly IReadOnlyList<string>? _names;

    /// <summary>
    /// Regularises the named parameters (default: every weight of the model's <see cref="Linear"/> and
    /// <see cref="Conv2d"/> layers, viewed as [output channels, rest]).
    /// </summary>
    public RegularizationCallback(Regularizer regularizer, IEnumerable<string>? parameterNames = null)
    {
        Regularizer = regularizer;
        _names = parameterNames?.ToArray();
    }

    /// <summary>The penalty.</summary>
    public Regularizer Regularizer { get; }

    /// <summary>Regularised parameters of <paramref name="model"/> with their names.</summary>
    public IReadOnlyList<(string Name, Core.Tensor Param)> Targets(Module model)
    {
        var all = model.NamedParameters().ToDictionary(p => p.Name, p => p.Param);
        var names = _names ?? LayerCalibration.PrunableLayers(model).Select(l => l.Name.Length == 0 ? "weight" : l.Name + ".weight").ToArray();
        return names.Select(n => all.TryGetValue(n, out var p) ? (n, p) : throw new ArgumentException($"model has no parameter '{n}'")).ToList();
    }

    /// <summary>Total penalty of the regularised parameters.</summary>
    public double Penalty(Module model)
        => Targets(model).Sum(t => Regularizer.Penalty(t.Param.ContiguousData().Span, t.Param.Shape[0]));

    /// <inheritdoc/>
    public void AfterOptimizerStep(TrainingContext ctx)
    {
        foreach (var (name, p) in Targets(ctx.Model))
        {
            if (!p.IsContiguous) throw new InvalidOperationException($"parameter '{name}' is not contiguous");
            Regularizer.Step(p.Span, p.Shape[0], ctx.Optimizer.LearningRate);
        }
    }
}
