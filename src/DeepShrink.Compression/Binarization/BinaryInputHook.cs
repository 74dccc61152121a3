using DeepShrink.Core;
using DeepShrink.Nn;

namespace DeepShrink.Compression.Binarization;

/// <summary>
/// Binary input activations of a Linear or Conv2d layer (a forward hook): BNN's sign activation, or
/// XNOR-Net's sign activation with the scaling factor K.
/// </summary>
/// <remarks>
/// <para>Both papers binarise the output of a batch-norm layer. The zoo models have none (the input of
/// a hidden layer is a ReLU output, whose sign is always +1), so the hook standardises its input per
/// channel first, exactly as a batch norm without affine parameters would:
/// <c>x^ = (x - mean_c) / sqrt(var_c + eps)</c>, with batch statistics in training and running
/// statistics (momentum <see cref="Momentum"/>) in evaluation. Then <c>b = x^ &gt; 0 ? +1 : -1</c> with the
/// straight-through estimator cancelled where |x^| &gt; 1 (Hubara et al. 2016, eq. 4). Ties go to -1: a
/// feature that is 0 for a whole batch (a dead ReLU) has batch mean exactly 0 in training but a tiny
/// positive running mean at inference, and must binarise the same way in both.</para>
/// <para>XNOR-Net (Rastegari et al. 2016, sec. 3.2): <c>I * W ~ (sign(I) (*) sign(W)) . K alpha</c>, where
/// alpha is in the binary weights and K holds, for each output position, the mean of |x^| over its
/// receptive field: the channel mean A = mean_c |x^| filtered by a k x k box with the layer's stride
/// and padding (for a fully connected layer, the mean over all inputs of the sample). The output is
/// <c>y = K (layer(b) - bias) + bias</c>; K is treated as a constant in the backward pass.</para>
/// <para>Graph: attrs <c>in_binary</c> = 1, <c>in_binary_scale</c> = 0 (BNN) or 1 (XNOR K), <c>in_binary_eps</c>;
/// params <c>in_mean</c>, <c>in_var</c> (per input channel / feature). Zero padding of a convolution
/// contributes 0 (it is applied to b).</para>
/// </remarks>
public sealed class BinaryInputHook : IForwardHook
{
    /// <summary>Graph attribute marking a binarised input.</summary>
    public const string BinaryAttr = "in_binary";
    /// <summary>Graph attribute: 1 for the XNOR scaling factor K, 0 for none.</summary>
    public const string ScaleAttr = "in_binary_scale";
    /// <summary>Graph attribute: epsilon of the standardisation.</summary>
    public const string EpsAttr = "in_binary_eps";

    private readonly Tensor _mean, _var;

    /// <summary>Creates the hook for a layer with <paramref name="channels"/> input channels (or features).</summary>
    public BinaryInputHook(int channels, bool xnor, float momentum = 0.1f, float eps = 1e-5f)
    {
        if (channels <= 0) throw new ArgumentOutOfRangeException(nameof(channels));
        Xnor = xnor; Momentum = momentum; Eps = eps;
        _mean = Tensor.Zeros(channels);
        _var = Tensor.Ones(channels);
        State = new Dictionary<string, Tensor> { ["in_mean"] = _mean, ["in_var"] = _var };
    }

    /// <summary>The hook for a Linear or Conv2d module.</summary>
    public static BinaryInputHook For(Module layer, bool xnor) => layer switch
    {
        Linear l => new BinaryInputHook(l.InFeatures, xnor),
        Conv2d c when !xnor || (c.Dilation == 1 && c.Groups == 1 && c.IsSquare) => new BinaryInputHook(c.InChannels, xnor),
        Conv2d => throw new NotSupportedException("XNOR scaling of dilated, grouped or non-square convolutions is not supported"),
        _ => throw new ArgumentException($"binary inputs need a Linear or Conv2d layer, got {layer.GetType().Name}"),
    };

    /// <summary>XNOR scaling factor K on (true) or plain +-1 activations (false).</summary>
    public bool Xnor { get; }
    /// <summary>Running statistics momentum.</summary>
    public float Momentum { get; }
    /// <summary>Variance epsilon.</summary>
    public float Eps { get; }

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, Tensor> State { get; }

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, double> GraphAttrs => new Dictionary<string, double>
    {
        [BinaryAttr] = 1, [ScaleAttr] = Xnor ? 1 : 0, [EpsAttr] = Eps,
    };

    /// <inheritdoc/>
    public Tensor Forward(Module module, Tensor x, Func<Tensor, Tensor> next)
    {
        int c = _mean.Size;
        if (x.Rank < 2 || x.Shape[1] != c) throw new ArgumentException($"binary input hook for {c} channels got input {ShapeUtil.Format(x.Shape)}");
        var (mean, var) = module.Training ? BatchStats(x.ContiguousData(), c) : (_mean.ToArray(), _var.ToArray());
        var shift = new float[c]; var mul = new float[c];
        for (int i = 0; i < c; i++) { mul[i] = 1f / MathF.Sqrt(var[i] + Eps); shift[i] = -mean[i]; }
        var bshape = x.Rank == 4 ? new[] { c, 1, 1 } : new[] { c };
        var xh = Ops.Mul(Ops.Add(x, new Tensor(shift, bshape)), new Tensor(mul, bshape));
        // b = xh > 0 ? +1 : -1: ties go to -1, so a ReLU zero binarises the same whether the mean it is
        // compared with is a batch mean of exactly 0 (training) or a running mean decayed to 1e-38 (inference).
        var b = Ops.Neg(Ops.BinarizeSte(Ops.Neg(xh), 1f));
        var y = next(b);
        if (!Xnor) return y;
        var k = module is Conv2d conv ? ConvScale(xh, conv) : RowScale(xh);
        var bias = module switch { Linear l => l.Bias, Conv2d cv => cv.Bias, _ => null };
        if (bias is null) return Ops.Mul(y, k);
        var bb = y.Rank == 4 ? Ops.Reshape(bias, bias.Size, 1, 1) : bias;
        return Ops.Add(Ops.Mul(Ops.Sub(y, bb), k), bb);
    }

    // Per-channel mean and biased variance over batch (and space); updates the running buffers.
    private (float[] Mean, float[] Var) BatchStats(Tensor x, int c)
    {
        var s = x.Span;
        int n = x.Shape[0], inner = x.Size / Math.Max(1, n * c);
        var sum = new double[c]; var sq = new double[c];
        for (int i = 0; i < s.Length; i++)
        {
            int ch = i / inner % c;
            sum[ch] += s[i]; sq[ch] += (double)s[i] * s[i];
        }
        long count = (long)n * inner;
        var mean = new float[c]; var var = new float[c];
        var rm = _mean.Span; var rv = _var.Span;
        for (int ch = 0; ch < c; ch++)
        {
            double m = sum[ch] / count, v = Math.Max(0, sq[ch] / count - m * m);
            mean[ch] = (float)m; var[ch] = (float)v;
            double unbiased = count > 1 ? v * count / (count - 1) : v;
            rm[ch] = (1 - Momentum) * rm[ch] + Momentum * (float)m;
            rv[ch] = (1 - Momentum) * rv[ch] + Momentum * (float)unbiased;
        }
        return (mean, var);
    }

    // K for a fully connected layer: mean |x^| over each sample's features, shape [N, 1].
    private static Tensor RowScale(Tensor xh)
    {
        var s = xh.ContiguousData().Span;
        int n = xh.Shape[0], f = xh.Size / n;
        var k = new float[n];
        for (int i = 0; i < n; i++)
        {
            double acc = 0;
            foreach (float v in s.Slice(i * f, f)) acc += MathF.Abs(v);
            k[i] = (float)(acc / f);
        }
        return new Tensor(k, n, 1);
    }

    // K for a convolution: channel mean of |x^| box-filtered over each output's window, shape [N, 1, OH, OW].
    private static Tensor ConvScale(Tensor xh, Conv2d conv)
    {
        var s = xh.ContiguousData().Span;
        int n = xh.Shape[0], ch = xh.Shape[1], h = xh.Shape[2], w = xh.Shape[3];
        int k = conv.KernelSize, st = conv.Stride, p = conv.Padding;
        int oh = (h + 2 * p - k) / st + 1, ow = (w + 2 * p - k) / st + 1;
        var a = new double[h * w];
        var res = new float[n * oh * ow];
        float inv = 1f / (k * k);
        for (int b = 0; b < n; b++)
        {
            Array.Clear(a);
            for (int c = 0; c < ch; c++)
            {
                var plane = s.Slice((b * ch + c) * h * w, h * w);
                for (int i = 0; i < plane.Length; i++) a[i] += MathF.Abs(plane[i]);
            }
            for (int i = 0; i < a.Length; i++) a[i] /= ch;
            for (int y = 0; y < oh; y++)
                for (int x = 0; x < ow; x++)
                {
                    double acc = 0;
                    for (int dy = 0; dy < k; dy++)
                    {
                        int iy = y * st - p + dy;
                        if ((uint)iy >= (uint)h) continue;
                        for (int dx = 0; dx < k; dx++)
                        {
                            int ix = x * st - p + dx;
                            if ((uint)ix < (uint)w) acc += a[iy * w + ix];
                        }
                    }
                    res[(b * oh + y) * ow + x] = (float)acc * inv;
                }
        }
        return new Tensor(res, n, 1, oh, ow);
    }
}
