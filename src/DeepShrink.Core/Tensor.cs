using System.Numerics.Tensors;
using System.Text;
using DeepShrink.Core.Autograd;

namespace DeepShrink.Core;

/// <summary>
/// A float32 n-dimensional array with optional reverse-mode autograd.
/// </summary>
/// <remarks>
/// Storage is a flat <c>float[]</c>; a tensor is a (storage, offset, shape, strides) view of it.
/// Reshape of a contiguous tensor, transpose and slicing along the first axis are views; kernels
/// take <see cref="Span"/> (contiguous only) and callers use <see cref="Contiguous"/> first.
/// Differentiable operations live in <see cref="Ops"/>; the instance methods here forward to them.
/// </remarks>
public sealed partial class Tensor
{
    /// <summary>Backing storage (shared between views).</summary>
    public float[] Storage { get; }
    /// <summary>Index of the first element in <see cref="Storage"/>.</summary>
    public int Offset { get; }
    /// <summary>Dimensions, outermost first.</summary>
    public int[] Shape { get; }
    /// <summary>Element strides per dimension.</summary>
    public int[] Strides { get; }
    /// <summary>Number of elements.</summary>
    public int Size { get; }
    /// <summary>Number of dimensions.</summary>
    public int Rank => Shape.Length;
    /// <summary>True when elements are laid out densely in row-major order.</summary>
    public bool IsContiguous { get; }

    /// <summary>When true, operations on this tensor are recorded for <see cref="Backward"/>.</summary>
    public bool RequiresGrad { get; set; }
    /// <summary>Accumulated gradient (leaf tensors; non-leaf only with <see cref="RetainGrad"/>).</summary>
    public Tensor? Grad { get; set; }
    /// <summary>Keep the gradient of a non-leaf tensor after backward.</summary>
    public bool RetainGrad { get; set; }
    /// <summary>The node that produced this tensor (null for leaves).</summary>
    public GradNode? GradFn { get; internal set; }
    /// <summary>Optional name used in error messages and graphs.</summary>
    public string? Name { get; set; }

    private List<Func<Tensor, Tensor>>? _hooks;

    /// <summary>
    /// Set on a gradient a backward node of <see cref="Ops"/> created for the engine alone (storage from
    /// <see cref="GradBufferPool"/>, nobody else holds it): <see cref="Engine.Backward(Tensor, Tensor?)"/> may then keep it as
    /// a leaf gradient without a copy, add into it in place, or recycle its storage once consumed.
    /// </summary>
    internal bool EngineOwned { get; set; }

    internal bool HasHooks => _hooks is { Count: > 0 };

    /// <summary>Creates a zero-filled tensor.</summary>
    public Tensor(params int[] shape) : this(new float[ShapeUtil.Numel(shape)], shape) { }

    /// <summary>Wraps <paramref name="data"/> (no copy) as a contiguous tensor.</summary>
    public Tensor(float[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        int n = ShapeUtil.Numel(shape);
        if (data.Length != n)
            throw new ArgumentException($"data has {data.Length} elements but shape {ShapeUtil.Format(shape)} needs {n}");
        Storage = data; Offset = 0; Shape = (int[])shape.Clone(); Strides = ShapeUtil.ContiguousStrides(shape);
        Size = n; IsContiguous = true;
    }

    private Tensor(float[] storage, int offset, int[] shape, int[] strides)
    {
        Storage = storage; Offset = offset; Shape = shape; Strides = strides;
        Size = ShapeUtil.Numel(shape);
        IsContiguous = ComputeContiguous(shape, strides);
    }

    private static bool ComputeContiguous(int[] shape, int[] strides)
    {
        int acc = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            if (shape[i] == 1) continue;
            if (strides[i] != acc) return false;
            acc *= shape[i];
        }
        return true;
    }

    /// <summary>Creates a view over the same storage (no autograd; used by <see cref="Ops"/>).</summary>
    public static Tensor View(Tensor src, int offset, int[] shape, int[] strides) => new(src.Storage, offset, shape, strides);

    // ---------- creation ----------

    /// <summary>Zeros of the given shape.</summary>
    public static Tensor Zeros(params int[] shape) => new(shape);
    /// <summary>Ones of the given shape.</summary>
    public static Tensor Ones(params int[] shape) => Full(1f, shape);
    /// <summary>A tensor filled with <paramref name="value"/>.</summary>
    public static Tensor Full(float value, params int[] shape)
    {
        var t = new Tensor(shape); t.Storage.AsSpan().Fill(value); return t;
    }
    /// <summary>A scalar (rank-0) tensor.</summary>
    public static Tensor Scalar(float value) => new(new[] { value }, Array.Empty<int>());
    /// <summary>Copies <paramref name="data"/> into a new tensor.</summary>
    public static Tensor FromArray(ReadOnlySpan<float> data, params int[] shape) => new(data.ToArray(), shape);
    /// <summary>Copies a 2-D array.</summary>
    public static Tensor FromArray(float[,] data)
    {
        int r = data.GetLength(0), c = data.GetLength(1);
        var t = new Tensor(r, c);
        for (int i = 0; i < r; i++) for (int j = 0; j < c; j++) t.Storage[i * c + j] = data[i, j];
        return t;
    }
    /// <summary>Standard normal samples times <paramref name="std"/>.</summary>
    public static Tensor Randn(Rng rng, float std, params int[] shape)
    {
        var t = new Tensor(shape);
        for (int i = 0; i < t.Size; i++) t.Storage[i] = (float)(rng.NextGaussian() * std);
        return t;
    }
    /// <summary>Uniform samples in [low, high).</summary>
    public static Tensor Uniform(Rng rng, float low, float high, params int[] shape)
    {
        var t = new Tensor(shape);
        for (int i = 0; i < t.Size; i++) t.Storage[i] = low + (high - low) * rng.NextFloat();
        return t;
    }
    /// <summary>0, 1, ..., n-1.</summary>
    public static Tensor Arange(int n)
    {
        var t = new Tensor(n);
        for (int i = 0; i < n; i++) t.Storage[i] = i;
        return t;
    }

    // ---------- access ----------

    /// <summary>The elements as a span; the tensor must be contiguous.</summary>
    public Span<float> Span
    {
        get
        {
            if (!IsContiguous) throw new InvalidOperationException("tensor is not contiguous; call Contiguous() first");
            return Storage.AsSpan(Offset, Size);
        }
    }

    /// <summary>Element at a multi-index.</summary>
    [System.Runtime.CompilerServices.IndexerName("At")]
    public float this[params int[] index]
    {
        get => Storage[FlatIndex(index)];
        set => Storage[FlatIndex(index)] = value;
    }

    private int FlatIndex(int[] index)
    {
        if (index.Length != Rank) throw new ArgumentException($"expected {Rank} indices, got {index.Length}");
        int o = Offset;
        for (int i = 0; i < index.Length; i++)
        {
            if ((uint)index[i] >= (uint)Shape[i]) throw new IndexOutOfRangeException($"index {index[i]} out of range for dim {i} of size {Shape[i]}");
            o += index[i] * Strides[i];
        }
        return o;
    }

    /// <summary>The value of a one-element tensor.</summary>
    public float Item()
    {
        if (Size != 1) throw new InvalidOperationException($"Item() needs a one-element tensor, shape is {ShapeUtil.Format(Shape)}");
        return Storage[Offset];
    }

    /// <summary>Copies the elements (row-major) into a new array.</summary>
    public float[] ToArray()
    {
        if (IsContiguous) return Storage.AsSpan(Offset, Size).ToArray();
        var dst = new float[Size];
        CopyStridedTo(dst);
        return dst;
    }

    /// <summary>This tensor if contiguous, else a contiguous copy (no autograd link: use <see cref="Ops.Contiguous"/> in graphs).</summary>
    public Tensor ContiguousData() => IsContiguous ? this : new Tensor(ToArray(), Shape);

    private void CopyStridedTo(Span<float> dst)
    {
        int rank = Rank;
        if (Size == 0) return;
        var idx = new int[rank];
        int inner = rank == 0 ? 1 : Shape[rank - 1];
        int innerStride = rank == 0 ? 1 : Strides[rank - 1];
        int d = 0;
        while (true)
        {
            int o = Offset;
            for (int i = 0; i < rank - 1; i++) o += idx[i] * Strides[i];
            for (int j = 0; j < inner; j++) dst[d++] = Storage[o + j * innerStride];
            int ax = rank - 2;
            while (ax >= 0)
            {
                if (++idx[ax] < Shape[ax]) break;
                idx[ax] = 0; ax--;
            }
            if (ax < 0) break;
        }
    }

    /// <summary>A deep copy with no autograd history.</summary>
    public Tensor Clone() => new(ToArray(), Shape);

    /// <summary>A tensor sharing storage but cut from the graph.</summary>
    public Tensor Detach() => new(Storage, Offset, Shape, Strides);

    /// <summary>Copies values from a tensor of the same shape into this (contiguous) tensor, in place.</summary>
    public void CopyFrom(Tensor src)
    {
        if (!ShapeUtil.SameShape(Shape, src.Shape))
            throw new ArgumentException($"shape mismatch: {ShapeUtil.Format(Shape)} vs {ShapeUtil.Format(src.Shape)}");
        if (src.IsContiguous) src.Span.CopyTo(Span); else src.CopyStridedTo(Span);
    }

    /// <summary>Fills with a value in place.</summary>
    public void Fill(float value) => Span.Fill(value);

    // ---------- autograd ----------

    /// <summary>Registers a hook that transforms this tensor's gradient before it is accumulated
    /// (e.g. a pruning mask or per-cluster gradient aggregation).</summary>
    public void RegisterHook(Func<Tensor, Tensor> hook) => (_hooks ??= new()).Add(hook);

    /// <summary>Removes all gradient hooks.</summary>
    public void ClearHooks() => _hooks = null;

    internal Tensor ApplyHooks(Tensor grad)
    {
        if (_hooks is null) return grad;
        foreach (var h in _hooks) grad = h(grad);
        return grad;
    }

    /// <summary>Back-propagates from this tensor (scalar, or with an explicit output gradient).</summary>
    public void Backward(Tensor? gradOutput = null) => Engine.Backward(this, gradOutput);

    /// <summary>Sets the gradient to null.</summary>
    public void ZeroGrad() => Grad = null;

    /// <inheritdoc/>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append("Tensor").Append(ShapeUtil.Format(Shape));
        if (Size <= 16)
        {
            sb.Append(" {");
            var a = ToArray();
            sb.Append(string.Join(", ", a.Select(v => v.ToString("G5", System.Globalization.CultureInfo.InvariantCulture))));
            sb.Append('}');
        }
        return sb.ToString();
    }

    // ---------- convenience forwarding ----------
    public Tensor Reshape(params int[] shape) => Ops.Reshape(this, shape);
    public Tensor Transpose(int a = 0, int b = 1) => Ops.Transpose(this, a, b);
    public Tensor Contiguous() => Ops.Contiguous(this);
    public Tensor Sum() => Ops.Sum(this);
    public Tensor Mean() => Ops.Mean(this);
    public static Tensor operator +(Tensor a, Tensor b) => Ops.Add(a, b);
    public static Tensor operator -(Tensor a, Tensor b) => Ops.Sub(a, b);
    public static Tensor operator *(Tensor a, Tensor b) => Ops.Mul(a, b);
    public static Tensor operator /(Tensor a, Tensor b) => Ops.Div(a, b);
    public static Tensor operator -(Tensor a) => Ops.Neg(a);
    public static Tensor operator +(Tensor a, float s) => Ops.AddScalar(a, s);
    public static Tensor operator -(Tensor a, float s) => Ops.AddScalar(a, -s);
    public static Tensor operator *(Tensor a, float s) => Ops.MulScalar(a, s);
    public static Tensor operator *(float s, Tensor a) => Ops.MulScalar(a, s);
    public static Tensor operator /(Tensor a, float s) => Ops.MulScalar(a, 1f / s);

    /// <summary>Max absolute element-wise difference to another tensor of the same shape.</summary>
    public float MaxAbsDiff(Tensor other)
    {
        if (!ShapeUtil.SameShape(Shape, other.Shape)) throw new ArgumentException("shape mismatch");
        var a = ToArray(); var b = other.ToArray();
        float m = 0;
        for (int i = 0; i < a.Length; i++) m = MathF.Max(m, MathF.Abs(a[i] - b[i]));
        return m;
    }

    internal static void AccumulateInto(Tensor dst, Tensor g) => TensorPrimitives.Add(dst.Span, g.ContiguousData().Span, dst.Span);
}
