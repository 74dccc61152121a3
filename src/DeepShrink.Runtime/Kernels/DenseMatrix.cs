using System.Numerics.Tensors;
using DeepShrink.Core.Kernels;

namespace DeepShrink.Runtime.Kernels;

/// <summary>
/// A dense float32 weight matrix (row-major). Batch 1 runs as one dot product per row (a GEMV that
/// streams the matrix once); larger products go to <see cref="Gemm.Sgemm"/>.
/// </summary>
public sealed class DenseMatrix : IWeightMatrix
{
    private readonly float[] _w; // [Rows, Cols]

    /// <summary>Wraps (no copy) row-major weights.</summary>
    /// <param name="weights">[rows, cols]</param>
    public DenseMatrix(float[] weights, int rows, int cols)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (rows < 0 || cols < 0) throw new ArgumentOutOfRangeException(nameof(rows), $"matrix [{rows}, {cols}] has a negative dimension");
        if (weights.Length != (long)rows * cols) throw new ArgumentException($"weights have {weights.Length} elements, [{rows}, {cols}] needs {(long)rows * cols}");
        _w = weights; Rows = rows; Cols = cols;
    }

    /// <inheritdoc/>
    public int Rows { get; }
    /// <inheritdoc/>
    public int Cols { get; }
    /// <inheritdoc/>
    public string Kind => "dense";
    /// <inheritdoc/>
    public long StorageBytes => 4L * _w.Length;
    /// <inheritdoc/>
    public long MacsPerColumn => (long)Rows * Cols;
    /// <summary>The weights, row-major.</summary>
    public ReadOnlySpan<float> Weights => _w;

    /// <inheritdoc/>
    public void MultiplyRows(ReadOnlySpan<float> x, int batch, Span<float> y, int threads)
    {
        MatrixChecks.Rows(this, x.Length, batch, y.Length, threads);
        if (batch == 0 || Rows == 0) return;
        if (Cols == 0) { y[..(batch * Rows)].Clear(); return; }
        if (batch == 1)
        {
            Gemv(x[..Cols], y[..Rows], threads);
            return;
        }
        Gemm.Sgemm(false, true, batch, Rows, Cols, 1f, x, Cols, _w, Cols, 0f, y, Rows, threads);
    }

    /// <inheritdoc/>
    public void MultiplyColumns(ReadOnlySpan<float> x, int n, Span<float> y, int threads)
    {
        MatrixChecks.Columns(this, x.Length, n, y.Length, threads);
        if (n == 0 || Rows == 0) return;
        if (Cols == 0) { y[..(Rows * n)].Clear(); return; }
        if (n == 1)
        {
            Gemv(x[..Cols], y[..Rows], threads);
            return;
        }
        Gemm.Sgemm(false, false, Rows, n, Cols, 1f, _w, Cols, x, n, 0f, y, n, threads);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void Gemv(ReadOnlySpan<float> x, Span<float> y, int threads) // x: [Cols], y: [Rows]
    {
        int useful = RuntimeParallel.Useful(MacsPerColumn, Rows, threads);
        if (useful == 1)
        {
            for (int r = 0; r < Rows; r++) y[r] = TensorPrimitives.Dot(_w.AsSpan(r * Cols, Cols), x);
            return;
        }
        unsafe
        {
            fixed (float* px = x, py = y)
            {
                float* xp = px, yp = py;
                int cols = Cols;
                RuntimeParallel.For(Rows, useful, (r0, r1) =>
                {
                    var xs = new ReadOnlySpan<float>(xp, cols);
                    for (int r = r0; r < r1; r++) yp[r] = TensorPrimitives.Dot(_w.AsSpan(r * cols, cols), xs);
                });
            }
        }
    }
}
