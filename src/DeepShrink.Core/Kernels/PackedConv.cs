using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace DeepShrink.Core.Kernels;

/// <summary>How <see cref="PackedConv"/> lays its convolution out as a GEMM.</summary>
public enum ConvLayout
{
    /// <summary>Chosen by plane size and instruction set (the default).</summary>
    Auto,
    /// <summary>Output channels as rows, positions as columns, column segments unfolded per work item (large planes).</summary>
    ChannelRows,
    /// <summary>Positions as rows, channels as columns, the batch unfolded once (<see cref="ConvPositionRows"/>).</summary>
    PositionRows,
    /// <summary>Positions as rows read in place from the padded input (<see cref="ConvIndirect"/>; AVX-512, any stride).</summary>
    Indirect,
}

/// <summary>
/// Inference convolution (groups = 1) with constant weights packed once (<see cref="GemmPackedA"/>) and a fused
/// epilogue: <c>y = act(conv(x, W) + bias [+ residual])</c> with act = ReLU or identity.
/// <see cref="ConvReference"/> is the specification.
/// </summary>
/// <remarks>
/// im2col + GEMM (Chellapilla, Puri and Simard, 2006) cut into work items of (image, column segment of the
/// output positions, band of output channels), as ONNX Runtime's MLAS does for its "expand then GEMM" convolution:
/// each item unfolds only its segment (<see cref="Im2ColSegment"/>, sized to stay in L2), multiplies the packed
/// weights of its band by it straight into the NCHW output (<c>ldc = OH OW</c>), then adds bias and residual and
/// applies the ReLU while the tile is still in cache. At batch 1 the output positions (and, when they are few, the
/// output channels) are shared among threads, so both cores work on every layer. Each output element is computed
/// by one item with the same depth blocking whatever the thread count, so results never depend on it.
/// Planes under <see cref="PositionRowsMaxPlane"/> positions (late ResNet stages, small images) would leave the
/// micro-kernel's wide side mostly empty; they run transposed instead, positions of the whole batch as rows and
/// channels as columns (<see cref="ConvPositionRows"/>).
/// </remarks>
public sealed unsafe class PackedConv
{
    /// <summary>Target floats of one item's column segment (256 KiB: half an L2).</summary>
    public const int SegmentElements = 1 << 16;

    /// <summary>Output channels from which a small-plane spatial convolution runs as an indirect GEMM (<see cref="ConvIndirect"/>).</summary>
    public const int IndirectMinChannels = 48;

    /// <summary>Planes smaller than this run with positions as GEMM rows (<see cref="ConvIndirect"/> where it applies, else <see cref="ConvPositionRows"/>).</summary>
    public const int PositionRowsMaxPlane = 256;

    private readonly ConvGeometry _g;
    private readonly GemmPackedA? _w;          // channels as rows (large planes)
    private readonly ConvPositionRows? _rows;  // positions as rows (small planes)
    private readonly ConvIndirect? _indirect;  // positions as rows on AVX-512: no unfolded matrix
    private readonly float[] _bias;
    private readonly int _segments; // column segments per image that keep a segment within SegmentElements

    /// <summary>Packs the weights [O, C, KH, KW] (groups must be 1); <paramref name="bias"/> [O] or empty.</summary>
    public PackedConv(ConvGeometry g, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, SimdLevel? level = null)
        : this(g, w, bias, level, ConvLayout.Auto) { }

    /// <summary>Packs for a given GEMM layout (<see cref="ConvLayout.Auto"/>: <see cref="AutoLayout"/>; the others for tests and benchmarks).</summary>
    /// <exception cref="ArgumentException">A layout that cannot run this geometry here (<see cref="Supports"/>).</exception>
    public PackedConv(ConvGeometry g, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, SimdLevel? level, ConvLayout layout)
    {
        g = g with { N = 1 };
        g.Validate();
        if (g.Groups != 1) throw new ArgumentException($"packed convolution needs groups = 1, got {g.Groups}");
        ConvGeometry.CheckLength(w.Length, g.WeightSize, "w", g.WeightShapeText);
        if (bias.Length != 0) ConvGeometry.CheckLength(bias.Length, g.O, "bias", $"[{g.O}]");
        var isa = level ?? Gemm.Isa;
        if (layout == ConvLayout.Auto) layout = AutoLayout(g, isa);
        if (!Supports(g, layout, isa))
            throw new ArgumentException($"the indirect layout needs AVX-512 and groups 1; got {CpuFeatures.Name(isa)}, groups {g.Groups}");
        _g = g;
        _bias = bias.ToArray();
        switch (layout)
        {
            case ConvLayout.Indirect: _indirect = new ConvIndirect(g, w); return;
            case ConvLayout.PositionRows: _rows = new ConvPositionRows(g, w, isa); return;
        }
        _w = new GemmPackedA(w, g.O, g.GroupK, isa);
        int nr = _w.Nr;
        int target = Math.Max(nr, SegmentElements / g.GroupK / nr * nr);
        _segments = (g.OutPlane + target - 1) / target;
    }

    /// <summary>True when <paramref name="layout"/> can run <paramref name="g"/> (groups 1) on <paramref name="level"/> (default: this machine's).</summary>
    public static bool Supports(in ConvGeometry g, ConvLayout layout, SimdLevel? level = null) =>
        g.Groups == 1 && (layout != ConvLayout.Indirect || ConvIndirect.Supports(g, level ?? Gemm.Isa));

    /// <summary>
    /// The layout <see cref="ConvLayout.Auto"/> picks. Planes of at least <see cref="PositionRowsMaxPlane"/> positions:
    /// channels as rows, except strided spatial kernels over 16+ channels (<see cref="StridedIndirect"/>). Smaller planes on AVX-512 (measured, docs/RESULTS.md "small-map runtime" and "eleventh session"): the
    /// indirect GEMM for spatial kernels and strided 1x1 ones (<see cref="StridedPointwise"/>) with at least <see cref="IndirectMinChannels"/> output channels (1.1-1.4x faster
    /// than the other layouts on 7x7 and 14x14 planes), channels as rows for pointwise and narrow layers (up to 2x
    /// faster there: positions-as-rows tiles of 32 channels are mostly padding, or a 1x1 reduction is too short).
    /// Other small planes: positions as rows.
    /// </summary>
    public static ConvLayout AutoLayout(in ConvGeometry g, SimdLevel level)
    {
        if (g.OutPlane >= PositionRowsMaxPlane)
            return StridedIndirect(g, level) ? ConvLayout.Indirect : ConvLayout.ChannelRows;
        if (!ConvIndirect.Supports(g, level)) return ConvLayout.PositionRows;
        return (g.KH * g.KW > 1 || StridedPointwise(g)) && g.O >= IndirectMinChannels ? ConvLayout.Indirect : ConvLayout.ChannelRows;
    }

    /// <summary>
    /// A 1x1 strided convolution without padding (a ResNet's projection shortcut, <see cref="ConvIndirect.StridedPointwise"/>):
    /// on small planes the indirect GEMM copies just the inputs it reads and each thread only those of its positions
    /// (ResNet18's 1x1/2 shortcuts to 14 x 14 and 7 x 7, 2 threads, in the network: 71 and 60 us against 75 and 95 us
    /// with channels as rows, which unfolds the whole subsampled input once per channel band; to 28 x 28 channels as
    /// rows stayed ahead, 75 vs 93 us).
    /// </summary>
    private static bool StridedPointwise(in ConvGeometry g) => ConvIndirect.StridedPointwise(g);

    /// <summary>
    /// Larger planes: the indirect GEMM for strided spatial kernels over at least 16 input channels with at least
    /// <see cref="IndirectMinChannels"/> outputs, where channels-as-rows unfolds a strided gather (ResNet18 layer2's
    /// 3x3/2, 64 -> 128 channels to 28 x 28, 2 threads: 313 vs 360 us warm, 371 vs 417 us with the weights out of cache;
    /// the 3-channel 7x7/2 stem measured even, 599 vs 606 us, and stays on channels as rows).
    /// </summary>
    private static bool StridedIndirect(in ConvGeometry g, SimdLevel level) =>
        ConvIndirect.Supports(g, level) && (g.SH > 1 || g.SW > 1) && g.KH * g.KW > 1 && g.C >= 16 && g.O >= IndirectMinChannels;

    /// <summary>The GEMM layout this convolution runs.</summary>
    public ConvLayout Layout => _indirect is not null ? ConvLayout.Indirect : _rows is not null ? ConvLayout.PositionRows : ConvLayout.ChannelRows;

    /// <summary>The geometry of one image.</summary>
    public ConvGeometry Geometry => _g;
    /// <summary>Bytes of the packed weights.</summary>
    public long WeightBytes => _w?.Bytes ?? _rows?.Bytes ?? _indirect!.Bytes;

    /// <summary>
    /// y = act(conv(x) + bias [+ residual]) for a batch; <paramref name="residual"/> is empty or shaped like y, and
    /// y overlaps neither x nor the residual.
    /// </summary>
    public void Forward(int batch,
        ReadOnlySpan<float> x,        // [N, C, H, W]
        Span<float> y,                // [N, O, OH, OW]
        ReadOnlySpan<float> residual, // [N, O, OH, OW] or empty
        bool relu, int threads)
    {
        var g = _g with { N = batch };
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), $"batch must be >= 1, got {batch}");
        ConvGeometry.CheckLength(x.Length, g.InputSize, "x", g.InputShapeText);
        ConvGeometry.CheckLength(y.Length, g.OutputSize, "y", g.OutputShapeText);
        if (residual.Length != 0) ConvGeometry.CheckLength(residual.Length, g.OutputSize, "residual", g.OutputShapeText);
        threads = ConvParallel.Resolve(threads);
        if (_indirect is not null)
        {
            fixed (float* px = x, py = y, pr = residual)
                _indirect.Forward(batch, px, py, residual.Length != 0 ? pr : null, _bias, relu, threads);
            return;
        }
        if (_rows is not null)
        {
            fixed (float* px = x, py = y, pr = residual)
                _rows.Forward(batch, px, py, residual.Length != 0 ? pr : null, _bias, relu, threads);
            return;
        }
        var w = _w!;
        // enough (image, segment) tiles for every thread when the plane allows: more segments before channel bands
        int segments = Math.Clamp((2 * threads + batch - 1) / batch, _segments, Math.Max(_segments, (g.OutPlane + w.Nr - 1) / w.Nr));
        int segment = ((g.OutPlane + segments - 1) / segments + w.Nr - 1) / w.Nr * w.Nr;
        segments = (g.OutPlane + segment - 1) / segment;
        int tiles = batch * segments;
        // few (image, segment) tiles: also cut the output channels into bands so every thread has work
        int bands = tiles >= 2 * threads ? 1 : Math.Clamp(2 * threads / tiles, 1, Math.Max(1, g.O / (4 * w.Mr)));
        int bandRows = (g.O + bands - 1) / bands;
        bandRows = (bandRows + w.Mr - 1) / w.Mr * w.Mr;
        bands = (g.O + bandRows - 1) / bandRows;
        int items = tiles * bands;
        fixed (float* px = x, py = y, pr = residual)
        {
            var job = new Job(this, px, py, residual.Length != 0 ? pr : null, relu, segment, segments, bands, bandRows);
            int t = Math.Min(threads, items);
            if (t <= 1 || g.Macs < 1 << 16) { job.Items(0, items); return; }
            WorkerPool.Run(items, t, i => job.Items(i, i + 1));
        }
    }

    private sealed class Job(PackedConv conv, float* x, float* y, float* residual, bool relu, int seg, int segments, int bands, int bandRows)
    {
        /// <summary>Runs items [i0, i1): item = (image, segment, band), band fastest.</summary>
        public void Items(int i0, int i1)
        {
            var g = conv._g;
            int k = g.GroupK, plane = g.OutPlane;
            var w = conv._w!;
            int ld = seg, len = (int)Math.Max((long)k * ld, w.RequiredB(seg, ld));
            float[] cols = ArrayPool<float>.Shared.Rent(len);
            try
            {
                fixed (float* pc = cols)
                    for (int i = i0; i < i1; i++)
                    {
                        int band = i % bands, tile = i / bands, s = tile % segments, img = tile / segments;
                        int q0 = s * seg, n = Math.Min(seg, plane - q0);
                        int r0 = band * bandRows, r1 = Math.Min(g.O, r0 + bandRows);
                        Im2ColSegment.Pack(g, x + (long)img * g.C * g.H * g.W, q0, n, pc, ld);
                        long outOff = (long)img * g.O * plane;
                        var yImg = new Span<float>(y + outOff, g.O * plane);
                        w.Multiply(new ReadOnlySpan<float>(pc, len), ld, n, yImg.Slice(q0), plane, r0, r1);
                        Epilogue(yImg, residual == null ? null : residual + outOff, conv._bias, r0, r1, q0, n, plane, relu);
                    }
            }
            finally { ArrayPool<float>.Shared.Return(cols); }
        }
    }

    /// <summary>y[o, q0..q0+n) = act(y + bias[o] + residual[o, ...]) for o in [r0, r1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Epilogue(Span<float> yImg, float* res, float[] bias, int r0, int r1, int q0, int n, int plane, bool relu)
    {
        int vw = Vector<float>.Count;
        var zero = Vector<float>.Zero;
        fixed (float* py = yImg)
            for (int o = r0; o < r1; o++)
            {
                float* d = py + (long)o * plane + q0;
                float* r = res == null ? null : res + (long)o * plane + q0;
                float b = bias.Length == 0 ? 0f : bias[o];
                var vb = new Vector<float>(b);
                int j = 0;
                for (; j <= n - vw; j += vw)
                {
                    var v = Vector.Load(d + j) + vb;
                    if (r != null) v += Vector.Load(r + j);
                    if (relu) v = Vector.Max(v, zero);
                    v.Store(d + j);
                }
                for (; j < n; j++)
                {
                    float v = d[j] + b;
                    if (r != null) v += r[j];
                    d[j] = relu ? MathF.Max(v, 0f) : v;
                }
            }
    }
}
