using DeepShrink.Compression.Quantization;
using DeepShrink.Compression.Recipes;

namespace DeepShrink.Compression.Pipeline;

/// <summary>
/// Runs a <see cref="LinearQuantizationSpec"/>. Post-training: calibrate the input-activation ranges
/// on training batches, then quantise every weight per channel and store it with the int8 codec.
/// Quantisation-aware: the same calibration, then retraining with fake-quantised weights and inputs
/// (straight-through estimator), then the same final quantisation.
/// </summary>
public sealed class LinearQuantizationPhase(LinearQuantizationSpec spec) : PrecisionPhase(spec)
{
    private List<PrecisionLayer> _layers = new();

    /// <inheritdoc/>
    public override void Begin(CompressionContext ctx)
    {
        _layers = Layers(ctx.Model, spec);
        if (spec.Activations is { } act)
        {
            var hooks = _layers.Select(l => (InputQuantizer)(l.Module.ForwardHook = new InputQuantizer())).ToList();
            InputQuantizer.CalibrateAll(ctx.Model, CalibrationBatches(ctx, spec.CalibrationBatches), hooks, act);
            ctx.Log($"activations: {act.Bits}-bit {(act.Symmetric ? "symmetric" : "asymmetric")} per tensor, {act.Method.ToString().ToLowerInvariant()} calibration on {spec.CalibrationBatches} batches: "
                + string.Join(", ", _layers.Select(l => $"{l.Path} [{((InputQuantizer)l.Module.ForwardHook!).Params!.Value.Range.Lo:G3}, {((InputQuantizer)l.Module.ForwardHook!).Params!.Value.Range.Hi:G3}]")));
        }
        if (spec.Qat) ctx.Callbacks.Add(new FakeQuantCallback(_layers.Select(l => l.Weight).ToList(), spec.Weights));
    }

    /// <inheritdoc/>
    public override void Finish(CompressionContext ctx)
    {
        var w = spec.Weights;
        foreach (var l in _layers)
        {
            var enc = WeightQuantizer.Encode(l.Weight, WeightQuantizer.Calibrate(l.Weight, w));
            l.Weight.CopyFrom(enc.DecodeTensor());
            ctx.Encoded[l.WeightName] = enc;
            Plan(ctx, l.WeightName, w.Bits, $"int{w.Bits} {(w.Symmetric ? "symmetric" : "asymmetric")} {(w.PerChannel ? "per-channel" : "per-tensor")} {w.Method}".ToLowerInvariant());
        }
        ctx.Log($"quantised {_layers.Count} weight tensors to {w.Bits} bits" + (spec.Activations is null ? "" : " (inputs fake-quantised)"));
    }
}
