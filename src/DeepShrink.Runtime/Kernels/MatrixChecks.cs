namespace DeepShrink.Runtime.Kernels;

/// <summary>Argument checks shared by the <see cref="IWeightMatrix"/> implementations.</summary>
internal static class MatrixChecks
{
    /// <summary>Checks the buffers of <see cref="IWeightMatrix.MultiplyRows"/>.</summary>
    public static void Rows(IWeightMatrix w, int xLength, int batch, int yLength, int threads)
    {
        if (batch < 0) throw new ArgumentOutOfRangeException(nameof(batch), $"batch must be >= 0, got {batch}");
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), $"threads must be >= 1, got {threads}");
        if (xLength < (long)batch * w.Cols) throw new ArgumentException($"x has {xLength} elements, [{batch}, {w.Cols}] needs {(long)batch * w.Cols}");
        if (yLength < (long)batch * w.Rows) throw new ArgumentException($"y has {yLength} elements, [{batch}, {w.Rows}] needs {(long)batch * w.Rows}");
    }

    /// <summary>Checks the buffers of <see cref="IWeightMatrix.MultiplyColumns"/>.</summary>
    public static void Columns(IWeightMatrix w, int xLength, int n, int yLength, int threads)
    {
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n), $"n must be >= 0, got {n}");
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), $"threads must be >= 1, got {threads}");
        if (xLength < (long)w.Cols * n) throw new ArgumentException($"x has {xLength} elements, [{w.Cols}, {n}] needs {(long)w.Cols * n}");
        if (yLength < (long)w.Rows * n) throw new ArgumentException($"y has {yLength} elements, [{w.Rows}, {n}] needs {(long)w.Rows * n}");
    }
}
