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
    private readonly DenseMatrix? _matrix; // instead of it when the kernel covers the whole unpadded input: one output position
    private Lazy<WinogradConv>? _winograd; // the same, 3x3 stride 1: built at the first call that runs it
    private readonly int _winogradTile;    // its output tile side
    private int _winogradFromBatch;        // smallest batch for which Winograd pays (WinogradConv.Pays), int.MaxValue: never
    private readonly ConvFewChannels? _few; // dense, few input channels (output channels a multiple of 16): direct, channels in lanes (without a residual)

    /// <summary>Largest batch for which <see cref="WinogradConv.Pays"/> is asked (a layer that does not pay by then never runs it).</summary>
    private const int MaxWinogradBatch = 256;

    public ConvStep(string name, int input, ConvGeometry g, IWeightMatrix[] groups, float[] bias, InputTransform? transform, bool pack = true, bool winograd = false, bool fewChannels = false)
        : base(name, "conv2d", [input], [g.C * g.H * g.W], -1, g.O * g.OutPlane)
    {
        _g = g; _groups = groups; _bias = bias; _transform = transform;
        if (groups.All(m => m is DenseMatrix)) _dense = groups.SelectMany(m => ((DenseMatrix)m).Weights.ToArray()).ToArray();
        if (pack && _dense is not null && g.Groups == 1 && transform is null)
        {   // one output position reading the whole input: a matrix-vector product, nothing to pack
            if (IsMatrixProduct(g)) _matrix = new DenseMatrix(_dense, g.O, g.C * g.KH * g.KW);
            else _packed = new PackedConv(g, _dense, bias);
            if (fewChannels && _packed is not null && ConvFewChannels.Supports(g)) _few = new ConvFewChannels(g, _dense, bias);
        }
        if (winograd && _packed is not null && WinogradConv.Supports(g))
        {
            var dense = _dense;
            int m = WinogradConv.RuntimeTile(g);
            _winogradTile = m;
            _winogradFromBatch = Enumerable.Range(1, MaxWinogradBatch).FirstOrDefault(b => WinogradConv.Pays(g, b), int.MaxValue);
            _winograd = new Lazy<WinogradConv>(() => new WinogradConv(g, dense, bias, m), LazyThreadSafetyMode.ExecutionAndPublication);
            if (_winogradFromBatch == 1) _ = _winograd.Value; // used at every batch: transform now
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

    /// <summary>A fused dense convolution <c>y = act(conv(x) + bias [+ residual])</c> (PackedConv or WinogradConv).</summary>
    private delegate void FusedConv(int batch, ReadOnlySpan<float> x, Span<float> y, ReadOnlySpan<float> residual, bool relu, int threads);

    private sealed record Algorithm(string Name, FusedConv Run);

    private Algorithm? _one, _many; // measured winners at batch 1 and at larger batches (null: the rules above)

    /// <summary>
    /// Replaces the layout and tile-count rules by a measurement on this machine: every way this dense convolution can
    /// run (the packed GEMM in each applicable layout, see <see cref="ConvLayout"/>, and Winograd for 3x3 stride 1) is
    /// timed in alternating rounds (<see cref="KernelChooser.BestTimes"/>, <paramref name="threads"/> threads) at batch 1
    /// and at <paramref name="batch"/>; calls of one image run the batch-1 winner, larger calls the other. The
    /// candidates agree to float rounding (Winograd about 1e-6 relative), so only speed changes. Losers are dropped.
    /// </summary>
    public void MeasureAlgorithms(int threads, int batch)
    {
        if (_packed is null) return;
        var g = _g;
        var dense = _dense!;
        var candidates = new List<Algorithm> { new(LayoutName(_packed.Layout), _packed.Forward) };
        foreach (var layout in new[] { ConvLayout.ChannelRows, ConvLayout.PositionRows, ConvLayout.Indirect })
        {
            if (layout == _packed.Layout || (layout != ConvLayout.ChannelRows && g.OutPlane >= MeasuredPositionRowsMaxPlane)) continue;
            if (layout == ConvLayout.Indirect && !PackedConv.Supports(g, ConvLayout.Indirect)) continue;
            if (layout == ConvLayout.PositionRows && PackedConv.Supports(g, ConvLayout.Indirect)) continue; // indirect does the same without the unfolded matrix
            var alt = new PackedConv(g, dense, _bias, null, layout);
            candidates.Add(new(LayoutName(layout), alt.Forward));
        }
        if (_winograd is not null) { var w = _winograd.Value; candidates.Add(new($"winograd-f{_winogradTile}x3", w.Forward)); }
        if (_few is not null)
        {
            var (few, packed) = (_few, _packed);
            candidates.Add(new(FewName, (b, x, y, res, relu, t) =>
            {
                if (res.IsEmpty) few.Forward(b, x, y, relu, t);
                else packed.Forward(b, x, y, res, relu, t); // the direct kernel adds no residual
            }));
        }
        var note = new System.Text.StringBuilder("measured");
        Algorithm Fastest(int b)
        {
            var x = DeepShrink.Core.Tensor.Uniform(new DeepShrink.Core.Rng(7), -1f, 1f, b * g.InputSize).Storage;
            var y = new float[b * g.OutputSize];
            var t = KernelChooser.BestTimes(candidates.Count, i => KernelChooser.MinMicros(() => candidates[i].Run(b, x, y, default, false, threads)), maxMs: 300);
            int win = Array.IndexOf(t, t.Min());
            note.Append($" b{b}: ").AppendJoin(", ", candidates.Select((c, i) => $"{c.Name} {t[i].ToString("F1", System.Globalization.CultureInfo.InvariantCulture)}us" + (i == win ? "*" : "")));
            return candidates[win];
        }
        _one = Fastest(1);
        _many = batch > 1 ? Fastest(batch) : _one;
        if (_one.Name.StartsWith("winograd", StringComparison.Ordinal) || _many.Name.StartsWith("winograd", StringComparison.Ordinal)) _winogradFromBatch = 1;
        else _winograd = null; // never used: drop the transformed weights
        _measuredNote = note.ToString();
    }

    /// <summary>Planes from which only the channels-as-rows layout is measured (positions as rows lost on every larger plane tried).</summary>
    private const int MeasuredPositionRowsMaxPlane = 1024;

    private string _measuredNote = "";

    private const string FewName = "few-channels-direct";

    /// <summary>
    /// This convolution with a following max pool fused in (<see cref="ConvFewChannels.FusesPool"/>), or null where the
    /// direct kernel does not run it (not few channels, a residual, or another pool). The convolution's output then
    /// exists only inside each thread's band.
    /// </summary>
    public ConvFewChannels? WithPool(PoolGeometry pool) =>
        _few is not null && !HasResidual && (_one is null || _one.Name == FewName) && ConvFewChannels.FusesPool(_g, pool)
            ? new ConvFewChannels(_g, _dense!, _bias, pool) : null;

    private static string LayoutName(ConvLayout layout) => layout switch
    {
        ConvLayout.Indirect => "indirect-gemm",
        ConvLayout.PositionRows => "position-rows-gemm",
        _ => "packed-im2col-gemm",
    };

    /// <summary>True once a following residual add has been fused (input 1 is added before the ReLU).</summary>
    public bool HasResidual => Inputs.Length == 2;

    /// <summary>Fuses <c>y = conv(x) + residual</c>: the residual slot becomes input 1 (same size as the output).</summary>
    public void FuseResidual(int storage)
    {
        if (HasResidual || FuseRelu) throw new InvalidOperationException($"conv '{Name}' cannot take a residual after its ReLU or a second residual");
        Inputs = [Inputs[0], storage];
        InputSizes = [InputSizes[0], OutputSize];
    }

    /// <summary>A note for profiles (e.g. the kernel taps cropped at load).</summary>
    public string Note { get; init; } = "";

    /// <inheritdoc/>
    public override string Describe() => (Note.Length > 0 ? Note + "|" : "") + (_matrix is not null ? "matrix-vector" :
        _one is not null ? (_one == _many ? _one.Name : $"b1 {_one.Name}, larger {_many!.Name}") + $" ({_measuredNote})"
        : _few is not null && !HasResidual ? FewName
        : _winograd is not null && _winogradFromBatch <= MaxWinogradBatch ? $"winograd-f{_winogradTile}x3(from b{_winogradFromBatch})|{LayoutName(_packed!.Layout)}" : _packed is not null ? LayoutName(_packed.Layout) : _dense is not null ? (DepthwiseConv.Supports(_g) ? "depthwise" : "im2col-sgemm") : _groups[0].Kind) + (HasResidual ? "+add" : "") + base.Describe();

    /// <summary>
    /// True when each image's output is one position whose window is exactly the whole unpadded input (e.g. a 1 x 1
    /// convolution on a 1 x 1 map, as ResNet18's last stage at 32 x 32 after <see cref="ConvTapCrop"/>): the unfolded
    /// image is the input itself in (c, ky, kx) order, so the convolution is y = W x, one matrix-vector product per image.
    /// </summary>
    internal static bool IsMatrixProduct(in ConvGeometry g) =>
        g.OH == 1 && g.OW == 1 && g.PH == 0 && g.PW == 0 && g.KH == g.H && g.KW == g.W && (g.KH == 1 || g.DH == 1) && (g.KW == 1 || g.DW == 1) && g.Groups == 1;

    /// <inheritdoc/>
    public override void Run(Frame f)
    {
        if (_matrix is not null)
        {   // batched matrix-vector products (a GEMV at batch 1, rows split over the threads) instead of a GEMM whose
            // micro-kernel would hold one output position: measured 22 vs 119 us for 512 -> 512 at batch 1
            var ym = Out(f);
            _matrix.MultiplyRows(In(f, 0)[..(f.Batch * _matrix.Cols)], f.Batch, ym, f.Threads);
            AddChannelBias(ym, _bias, f.Batch, _g.O, 1);
            if (HasResidual) System.Numerics.Tensors.TensorPrimitives.Add(ym, In(f, 1), ym);
            Finish(ym);
            return;
        }
        if (_one is not null)
        {
            (f.Batch == 1 ? _one : _many!).Run(f.Batch, In(f, 0), Out(f), HasResidual ? In(f, 1) : default, FuseRelu, f.Threads);
            return;
        }
        if (_few is not null && !HasResidual)
        {
            _few.Forward(f.Batch, In(f, 0), Out(f), FuseRelu, f.Threads);
            return;
        }
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
        if (_dense is not null && DepthwiseConv.Supports(g)) DepthwiseConv.Forward(g, x.X, _dense, _bias, y, f.Threads);
        else if (_dense is not null) ConvKernels.Forward(g, x.X, _dense, _bias, y, f.Threads);
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
