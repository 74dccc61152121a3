using System.Buffers;
using DeepShrink.Core.Kernels;
using DeepShrink.Runtime.Kernels;

namespace DeepShrink.Runtime.Execution;

/// <summary>
/// 2-D convolution (+ bias, + ReLU when fused). Dense weights run <see cref="ConvKernels.Forward"/>
/// (im2col + SGEMM over chunks of images); compressed weights unfold one image at a time
/// (<see cref="Im2Col.Pack"/>, skipped for pointwise convolutions) and multiply each group's column
/// matrix by that group's compressed matrix, writing straight into the image's output planes.
/// int8 weights with a quantised input (<see cref="Int8Matrix"/>) quantise the whole batch to u8 codes; symmetric
/// weights then run channel-major per image (<see cref="Int8ConvGemm"/>: few output channels x many positions,
/// output already in [O, OH OW] planes), other weights unfold the batch with <see cref="Im2Row"/> (padding = the zero
/// point's code) into one integer GEMM. Dense weights of an ungrouped convolution without an input transform are
/// packed once at load into a <see cref="PackedConv"/> (segmented im2col, packed-weight GEMM, bias, a fused residual
/// add and ReLU in one epilogue).
/// </summary>
internal sealed class ConvStep : Step
{
    private readonly ConvGeometry _g;      // N = 1; the batch comes from the frame
    private readonly IWeightMatrix[] _groups;
    private readonly float[]? _dense;      // [O, C/groups, KH, KW] when every group is dense
    private readonly float[] _bias;
    private readonly InputTransform? _transform;
    private readonly Int8Matrix? _int8;    // the whole convolution in integers (groups = 1)
    private readonly XnorMatrix? _xnor;    // binary weights x binary input, unfolded to bits per image (groups = 1)
    private readonly XnorPackedWeights? _xnorWeights; // its weights with columns in BinaryIm2Row's (ky, kx, c) order
    private readonly PackedConv? _packed;  // dense, groups = 1, no input transform
    private Lazy<WinogradConv>? _winograd; // the same, 3x3 stride 1: built at the first call with at least WinogradMinTiles tiles
    private readonly int _winogradTiles;   // its output tiles per image
    private int _winogradFromBatch;        // smallest batch that runs Winograd (int.MaxValue: never)
    private string _winogradNote = "";     // how that was decided, for Describe

    /// <summary>Output tiles (over the whole batch) from which a call runs Winograd (<see cref="WinogradConv.MinTiles"/>).</summary>
    public const int WinogradMinTiles = WinogradConv.MinTiles;

    public ConvStep(string name, int input, ConvGeometry g, IWeightMatrix[] groups, float[] bias, InputTransform? transform, bool pack = true, bool winograd = false)
        : base(name, "conv2d", [input], [g.C * g.H * g.W], -1, g.O * g.OutPlane)
    {
        _g = g; _groups = groups; _bias = bias; _transform = transform;
        if (groups.All(m => m is DenseMatrix)) _dense = groups.SelectMany(m => ((DenseMatrix)m).Weights.ToArray()).ToArray();
        if (pack && _dense is not null && g.Groups == 1 && transform is null) _packed = new PackedConv(g, _dense, bias);
        if (winograd && _packed is not null && WinogradConv.Supports(g))
        {
            var dense = _dense;
            int m = WinogradConv.ChooseTile(g, WinogradMinTiles);
            _winogradTiles = WinogradConv.TilesPerImage(g, m);
            _winogradFromBatch = (WinogradMinTiles + _winogradTiles - 1) / _winogradTiles;
            _winogradNote = $"(>={WinogradMinTiles}-tiles)";
            _winograd = new Lazy<WinogradConv>(() => new WinogradConv(g, dense, bias, m), LazyThreadSafetyMode.ExecutionAndPublication);
            if (_winogradTiles >= WinogradMinTiles) _ = _winograd.Value; // used at every batch: transform now
        }
        if (groups is [Int8Matrix q])
        {
            _int8 = q;
            if (q.WeightZeroPoint == 0) _ = q.RowPanels; // build the channel-major weights at load, not in the first call
        }
        if (groups is [XnorMatrix xm] && g.Groups == 1)
        {
            _xnor = xm;
            _xnorWeights = xm.Packed.PermuteColumns(BinaryIm2Row.WeightOrder(g));
        }
    }

    /// <summary>
    /// Replaces the tile-count rule by a measurement on this machine: Winograd and the packed direct convolution are
    /// timed in alternating rounds at batch 1 (<see cref="KernelChooser.BestTimes"/>, <paramref name="threads"/> threads);
    /// when Winograd loses there it is timed again at <paramref name="batch"/>, and runs from that batch on only if it wins
    /// there. Small planes and few input channels (transforms that cost more than the multiplies they save) then keep
    /// the direct path; the results of either path agree to float rounding. No effect without a Winograd candidate.
    /// </summary>
    public void MeasureWinograd(int threads, int batch)
    {
        if (_winograd is null || _packed is null) return;
        var wino = _winograd.Value;
        var packed = _packed;
        var g = _g;
        double[] Times(int b)
        {
            var x = DeepShrink.Core.Tensor.Uniform(new DeepShrink.Core.Rng(7), -1f, 1f, b * g.InputSize).Storage;
            var y = new float[b * g.OutputSize];
            return KernelChooser.BestTimes(2, i => KernelChooser.MinMicros(i == 0
                ? () => wino.Forward(b, x, y, default, false, threads)
                : () => packed.Forward(b, x, y, default, false, threads)), maxMs: 250);
        }
        var t1 = Times(1);
        string F(double us) => us.ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
        if (t1[0] < t1[1])
        {
            _winogradFromBatch = 1;
            _winogradNote = $"(b1 {F(t1[0])}us < direct {F(t1[1])}us)";
            return;
        }
        var tb = batch > 1 ? Times(batch) : [double.MaxValue, 0];
        if (tb[0] < tb[1])
        {
            _winogradFromBatch = batch;
            _winogradNote = $"(from b{batch}: {F(tb[0])}us < {F(tb[1])}us; b1 direct {F(t1[1])}us < {F(t1[0])}us)";
            return;
        }
        _winograd = null; // never used: drop the transformed weights
        _winogradFromBatch = int.MaxValue;
        _winogradNote = $"direct: b1 {F(t1[1])}us < winograd {F(t1[0])}us" + (batch > 1 ? $", b{batch} {F(tb[1] / batch)} < {F(tb[0] / batch)}us/sample" : "");
    }

    /// <summary>True once a following residual add has been fused (input 1 is added before the ReLU).</summary>
    public bool HasResidual => Inputs.Length == 2;

    /// <summary>Fuses <c>y = conv(x) + residual</c>: the residual slot becomes input 1 (same size as the output).</summary>
    public void FuseResidual(int storage)
    {
        if (HasResidual || FuseRelu) throw new InvalidOperationException($"conv '{Name}' cannot take a residual after its ReLU or a second residual");
        Inputs = [Inputs[0], storage];
        InputSizes = [InputSizes[0], OutputSize];
    }

    /// <inheritdoc/>
    public override string Describe() =>
        (_winograd is not null ? $"winograd-f{WinogradConv.ChooseTile(_g, WinogradMinTiles)}x3{_winogradNote}|packed-im2col-gemm" : _packed is not null ? "packed-im2col-gemm" + (_winogradNote.Length > 0 ? $"({_winogradNote})" : "") : _dense is not null ? "im2col-sgemm" : _groups[0].Kind) + (HasResidual ? "+add" : "") + base.Describe();

    /// <inheritdoc/>
    public override void Run(Frame f)
    {
        if (_winograd is not null && f.Batch >= _winogradFromBatch)
        {
            _winograd.Value.Forward(f.Batch, In(f, 0), Out(f), HasResidual ? In(f, 1) : default, FuseRelu, f.Threads);
            return;
        }
        if (_packed is not null)
        {
            _packed.Forward(f.Batch, In(f, 0), Out(f), HasResidual ? In(f, 1) : default, FuseRelu, f.Threads);
            return;
        }
        using var x = TransformedInput.Create(_transform, In(f, 0), f.Batch);
        var y = Out(f);
        var g = _g with { N = f.Batch };
        if (_dense is not null) ConvKernels.Forward(g, x.X, _dense, _bias, y, f.Threads);
        else if (_int8 is { WeightZeroPoint: 0 }) Int8ChannelMajor(_int8, g, x.X, y, f.Threads);
        else if (_int8 is not null) Int8(_int8, g, x.X, y, f.Threads);
        else if (_xnor is not null && _xnorWeights is not null) Xnor(_xnor, _xnorWeights, g, x.X, y, f.Threads);
        else Compressed(g, x.X, y, f.Threads);
        _transform?.Rescale(y, _bias, x.Scale, f.Batch);
        if (HasResidual) System.Numerics.Tensors.TensorPrimitives.Add(y, In(f, 1), y);
        Finish(y);
    }

    private unsafe void Compressed(ConvGeometry g, ReadOnlySpan<float> x, Span<float> y, int threads) // x: [N, C, H, W], y: [N, O, OH, OW]
    {
        int images = g.N, plane = g.OutPlane;
        long work = _groups.Sum(m => m.MacsPerColumn) * plane * images;
        int outer = images > 1 ? RuntimeParallel.Useful(work, images, threads) : 1;
        fixed (float* px = x, py = y)
        {
            float* xp = px, yp = py;
            var geo = g;
            if (outer == 1) Images(geo, xp, yp, 0, images, threads);
            else RuntimeParallel.For(images, outer, (i0, i1) => Images(geo, xp, yp, i0, i1, 1));
        }
    }

    /// <summary>
    /// Quantise [N, C, H, W] to u8 once, then per image (images spread over threads): unfold into column panels,
    /// y[o, :] = W[o, :] X^T in int32, requantise each output row with its bias straight into the image's planes.
    /// </summary>
    private unsafe void Int8ChannelMajor(Int8Matrix q, ConvGeometry g, ReadOnlySpan<float> x, Span<float> y, int threads)
    {
        var w = q.RowPanels;
        int plane = g.OutPlane, k = q.Cols, o = g.O, images = g.N;
        int ld = Int8ConvGemm.PaddedColumns(plane), scratchLen = Int8ConvGemm.ScratchLength(g), packedLen = Int8ConvGemm.PackedLength(plane, k);
        int accLen = Int8ConvGemm.PaddedRows(o) * ld;
        byte[] codes = ArrayPool<byte>.Shared.Rent(g.InputSize);
        try
        {
            q.QuantizeInput(x[..g.InputSize], codes);
            int outer = images > 1 ? RuntimeParallel.Useful((long)o * k * plane * images, images, threads) : 1;
            fixed (byte* pcodes = codes)
            fixed (float* py = y)
            {
                nint codesAddr = (nint)pcodes, yAddr = (nint)py;
                var geo = g;
                byte pad = q.InputZeroPoint;
                RuntimeParallel.For(images, outer, (i0, i1) =>
                {
                    byte[] scratch = ArrayPool<byte>.Shared.Rent(scratchLen), packed = ArrayPool<byte>.Shared.Rent(packedLen);
                    int[] acc = ArrayPool<int>.Shared.Rent(accLen);
                    try
                    {
                        var all = new ReadOnlySpan<byte>((byte*)codesAddr, geo.InputSize);
                        var mult = q.Multipliers;
                        var corr = q.RowCorrections;
                        for (int i = i0; i < i1; i++)
                        {
                            Int8ConvGemm.PackImage(geo, all, i, pad, scratch, packed);
                            Int8ConvGemm.Multiply(w, packed, plane, acc, ld);
                            var yi = new Span<float>((float*)yAddr + (long)i * o * plane, o * plane);
                            for (int c = 0; c < o; c++)
                                Int8Requantize.RowToFloat(acc.AsSpan(c * ld, plane), corr[c], mult.Length == 1 ? mult[0] : mult[c],
                                    _bias.Length == 0 ? 0f : _bias[c], yi.Slice(c * plane, plane));
                        }
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(scratch); ArrayPool<byte>.Shared.Return(packed);
                        ArrayPool<int>.Shared.Return(acc);
                    }
                });
            }
        }
        finally { ArrayPool<byte>.Shared.Return(codes); }
    }

    /// <summary>
    /// Binary convolution per image (images spread over threads): the {-1, 0, +1} input goes straight to bit rows
    /// (<see cref="BinaryIm2Row"/>), one XNOR-popcount GEMM gives [OH OW, O] dot products (a second one with strict
    /// bits when zeros or padding take part: the exact dot is their mean), scaled by alpha into the [O, OH OW] planes.
    /// </summary>
    private unsafe void Xnor(XnorMatrix m, XnorPackedWeights w, ConvGeometry g, ReadOnlySpan<float> x, Span<float> y, int threads)
    {
        int plane = g.OutPlane, o = g.O, images = g.N, inSize = g.C * g.H * g.W, words = BinaryPack.WordsFor(m.Cols);
        var one = g with { N = 1 };
        int bitmapLen = BinaryIm2Row.BitmapLength(one), rowsLen = BinaryIm2Row.RowsLength(one);
        int outer = images > 1 ? RuntimeParallel.Useful((long)o * m.Cols * plane * images / 16, images, threads) : 1;
        fixed (float* px = x, py = y)
        {
            nint xAddr = (nint)px, yAddr = (nint)py;
            RuntimeParallel.For(images, outer, (i0, i1) =>
            {
                ulong[] bitmap = ArrayPool<ulong>.Shared.Rent(bitmapLen), rows = ArrayPool<ulong>.Shared.Rent(rowsLen), rowsGt = ArrayPool<ulong>.Shared.Rent(rowsLen);
                int[] c = ArrayPool<int>.Shared.Rent(plane * o), c2 = ArrayPool<int>.Shared.Rent(plane * o);
                try
                {
                    var alpha = m.Alpha;
                    for (int i = i0; i < i1; i++)
                    {
                        var image = new ReadOnlySpan<float>((float*)xAddr + (long)i * inSize, inSize);
                        bool zeros = BinaryIm2Row.Binarize(one, image, strict: false, bitmap);
                        BinaryIm2Row.Unfold(one, bitmap, rows);
                        if (zeros)
                        {
                            BinaryIm2Row.Binarize(one, image, strict: true, bitmap);
                            BinaryIm2Row.Unfold(one, bitmap, rowsGt);
                        }
                        XnorMatrix.ExactDots(plane, rows, zeros ? rowsGt.AsSpan(0, rowsLen) : ReadOnlySpan<ulong>.Empty, words, w, c, c2, outer > 1 ? 1 : threads);
                        float* yi = (float*)yAddr + (long)i * o * plane;
                        for (int pos = 0; pos < plane; pos++)
                            for (int j = 0; j < o; j++)
                                yi[(long)j * plane + pos] = alpha[alpha.Length == 1 ? 0 : j] * c[pos * o + j];
                        AddChannelBias(new Span<float>(yi, o * plane), _bias, 1, o, plane);
                    }
                }
                finally
                {
                    ArrayPool<ulong>.Shared.Return(bitmap); ArrayPool<ulong>.Shared.Return(rows); ArrayPool<ulong>.Shared.Return(rowsGt);
                    ArrayPool<int>.Shared.Return(c); ArrayPool<int>.Shared.Return(c2);
                }
            });
        }
    }

    /// <summary>Quantise [N, C, H, W] to u8, im2row to [N OH OW, K], integer GEMM to [N OH OW, O], transpose each image to [O, OH OW], add bias.</summary>
    private void Int8(Int8Matrix q, ConvGeometry g, ReadOnlySpan<float> x, Span<float> y, int threads) // x: [N, C, H, W], y: [N, O, OH, OW]
    {
        int plane = g.OutPlane, k = q.Cols, m = g.N * plane;
        byte[] codes = ArrayPool<byte>.Shared.Rent(g.InputSize), rows = ArrayPool<byte>.Shared.Rent(m * k);
        float[] yt = ArrayPool<float>.Shared.Rent(m * g.O);
        try
        {
            q.QuantizeInput(x[..g.InputSize], codes);
            Im2Row.PackUInt8(g, codes.AsSpan(0, g.InputSize), 0, g.N, q.InputZeroPoint, rows);
            q.MultiplyCodes(rows.AsSpan(0, m * k), m, yt, threads);
            for (int i = 0; i < g.N; i++)
                Transpose.Run(yt.AsSpan(i * plane * g.O, plane * g.O), plane, g.O, y.Slice(i * g.O * plane, g.O * plane));
            AddChannelBias(y, _bias, g.N, g.O, plane);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(codes); ArrayPool<byte>.Shared.Return(rows);
            ArrayPool<float>.Shared.Return(yt);
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private unsafe void Images(ConvGeometry g, float* x, float* y, int i0, int i1, int threads)
    {
        int plane = g.OutPlane, kRows = Im2Col.Rows(g), inSize = g.C * g.H * g.W, outSize = g.O * plane;
        int og = g.OPerGroup, kg = g.GroupK;
        float[]? cols = g.IsPointwise ? null : ArrayPool<float>.Shared.Rent(kRows * plane);
        try
        {
            var all = new ReadOnlySpan<float>(x, g.N * inSize);
            for (int i = i0; i < i1; i++)
            {
                ReadOnlySpan<float> c = cols is null ? all.Slice(i * inSize, inSize) : cols.AsSpan(0, kRows * plane);
                if (cols is not null) Im2Col.Pack(g, all, i, 1, cols.AsSpan(0, kRows * plane), 1);
                var yi = new Span<float>(y + (long)i * outSize, outSize);
                for (int gr = 0; gr < _groups.Length; gr++)
                    _groups[gr].MultiplyColumns(c.Slice(gr * kg * plane, kg * plane), plane, yi.Slice(gr * og * plane, og * plane), threads);
                AddChannelBias(yi, _bias, 1, g.O, plane);
            }
        }
        finally
        {
            if (cols is not null) ArrayPool<float>.Shared.Return(cols);
        }
    }
}
