using DeepShrink.Core;

namespace DeepShrink.Onnx.Import;

/// <summary>
/// A constant value during import (an initializer, a <c>Constant</c> node or a folded subgraph):
/// its full ONNX shape and its values as doubles (exact for float32 and for the int64 sizes that
/// shapes hold). <see cref="Batch"/> marks an element that stands for the (dynamic) batch size.
/// </summary>
internal sealed class OnnxConst
{
    /// <summary>The value that stands for the batch size in folded shape arithmetic.</summary>
    public const double Batch = -9007199254740000;

    public OnnxConst(int[] shape, double[] data, bool isInteger)
    {
        if (ShapeUtil.Numel(shape) != data.Length) throw new OnnxImportException($"constant of shape {ShapeUtil.Format(shape)} has {data.Length} values");
        Shape = shape; Data = data; IsInteger = isInteger;
    }

    /// <summary>Full ONNX shape (a scalar has rank 0).</summary>
    public int[] Shape { get; }
    /// <summary>Values, row-major.</summary>
    public double[] Data { get; }
    /// <summary>True for integer element types (shapes, axes, indices).</summary>
    public bool IsInteger { get; }

    /// <summary>True when some element stands for the batch size.</summary>
    public bool HasBatch => Data.Contains(Batch);

    /// <summary>The values as float32.</summary>
    public float[] Floats() => Data.Select(d => (float)d).ToArray();

    /// <summary>The values as integers; <paramref name="what"/> names the constant in the error.</summary>
    public long[] Longs(string what)
    {
        var r = new long[Data.Length];
        for (int i = 0; i < r.Length; i++)
        {
            double d = Data[i];
            if (d == Batch) { r[i] = long.MinValue; continue; }
            if (!double.IsFinite(d) || d != Math.Floor(d) || Math.Abs(d) > 1e15) throw new OnnxImportException($"{what}: value {d} is not an integer");
            r[i] = (long)d;
        }
        return r;
    }

    /// <summary>A tensor with the given shape (numel must match).</summary>
    public Tensor ToTensor(int[] shape) => new(Floats(), shape);
}
