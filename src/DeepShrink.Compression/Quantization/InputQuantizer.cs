using DeepShrink.Core;
using DeepShrink.Nn;

namespace DeepShrink.Compression.Quantization;

/// <summary>
/// Affine quantisation of a layer's input activations (a forward hook): while calibrating it records
/// the values it sees; once <see cref="Params"/> is set it fake-quantises the input with the
/// straight-through estimator, so the same hook serves post-training quantisation and
/// quantisation-aware training.
/// </summary>
/// <remarks>
/// Graph attributes (see docs/FORMAT-dsz.md): <c>in_quant_scale</c>, <c>in_quant_zero_point</c>,
/// <c>in_quant_min</c>, <c>in_quant_max</c>: the node's input x is replaced by
/// <c>scale * (clamp(round(x / scale) + zp, min, max) - zp)</c> before the node computes.
/// </remarks>
public sealed class InputQuantizer : IForwardHook
{
    private RangeHistogram? _histogram;
    private float _min = float.PositiveInfinity, _max = float.NegativeInfinity;

    /// <summary>Graph attribute: input scale.</summary>
    public const string ScaleAttr = "in_quant_scale";
    /// <summary>Graph attribute: input zero point.</summary>
    public const string ZeroPointAttr = "in_quant_zero_point";
    /// <summary>Graph attribute: smallest code.</summary>
    public const string MinAttr = "in_quant_min";
    /// <summary>Graph attribute: largest code.</summary>
    public const string MaxAttr = "in_quant_max";

    /// <summary>Quantisation parameters; null while calibrating (the input passes unchanged).</summary>
    public QuantParams? Params { get; set; }

    /// <summary>Calibration pass: 1 records min/max, 2 fills the histogram over that range, 0 observes nothing.</summary>
    public int CalibrationPass { get; set; }

    /// <inheritdoc/>
    public Tensor Forward(Module module, Tensor x, Func<Tensor, Tensor> next)
    {
        if (CalibrationPass == 1)
        {
            foreach (float v in x.ContiguousData().Span) { if (v < _min) _min = v; if (v > _max) _max = v; }
        }
        else if (CalibrationPass == 2)
        {
            _histogram ??= new RangeHistogram(MathF.Min(0f, _min), MathF.Max(0f, _max));
            _histogram.Add(x.ContiguousData().Span);
        }
        return next(Params is { } p ? Ops.FakeQuantize(x, p.Scale, p.ZeroPoint, p.QMin, p.QMax) : x);
    }

    /// <summary>Parameters from what was observed (pass 1 suffices for min-max; the others need pass 2).</summary>
    public QuantParams Calibrate(QuantScheme scheme)
    {
        if (scheme.Method == CalibrationMethod.MinMax || _histogram is null)
            return float.IsInfinity(_min) ? QuantParams.FromRange(0f, 0f, scheme.Bits, scheme.Symmetric)
                : QuantParams.FromRange(_min, _max, scheme.Bits, scheme.Symmetric);
        return _histogram.Calibrate(scheme.Method, scheme.Bits, scheme.Symmetric, scheme.Percentile);
    }

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, double> GraphAttrs => Params is not { } p ? new Dictionary<string, double>() : new Dictionary<string, double>
    {
        [ScaleAttr] = p.Scale, [ZeroPointAttr] = p.ZeroPoint, [MinAttr] = p.QMin, [MaxAttr] = p.QMax,
    };

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, Tensor> State { get; } = new Dictionary<string, Tensor>();

    /// <summary>
    /// Calibrates the input quantisers of a model: runs the batches through it (eval mode, no grad)
    /// once for the ranges and, unless the method is min-max, once more for histograms; then sets
    /// every quantiser's parameters.
    /// </summary>
    public static void CalibrateAll(Module model, IReadOnlyCollection<Tensor> batches, IEnumerable<InputQuantizer> quantizers, QuantScheme scheme)
    {
        var qs = quantizers.ToList();
        bool was = model.Training;
        model.Eval();
        try
        {
            using var _ = Core.Autograd.Engine.NoGrad();
            int passes = scheme.Method == CalibrationMethod.MinMax ? 1 : 2;
            for (int pass = 1; pass <= passes; pass++)
            {
                foreach (var q in qs) { q.Params = null; q.CalibrationPass = pass; }
                foreach (var x in batches) model.Forward(x);
            }
            foreach (var q in qs) { q.CalibrationPass = 0; q.Params = q.Calibrate(scheme); q._histogram = null; }
        }
        finally { model.Train(was); }
    }
}
