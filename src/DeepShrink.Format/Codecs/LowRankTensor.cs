namespace DeepShrink.Format.Codecs;

/// <summary>A low-rank tensor as its factors: <c>W[M, N] = U[M, Rank] V[Rank, N]</c>.</summary>
public sealed class LowRankTensor
{
    private readonly int[] _shape;
    private readonly float[] _u;
    private readonly float[] _v;

    internal LowRankTensor(int[] shape, int m, int n, int rank, bool isHalf, float[] u, float[] v)
    {
        _shape = shape; M = m; N = n; Rank = rank; IsHalf = isHalf; _u = u; _v = v;
    }

    /// <summary>Shape of the product tensor.</summary>
    public IReadOnlyList<int> Shape => _shape;
    /// <summary>Rows (<c>Shape[0]</c>).</summary>
    public int M { get; }
    /// <summary>Columns (product of the other dimensions).</summary>
    public int N { get; }
    /// <summary>Inner dimension.</summary>
    public int Rank { get; }
    /// <summary>Whether the factors were stored as float16.</summary>
    public bool IsHalf { get; }
    /// <summary>[M, Rank] row-major.</summary>
    public ReadOnlySpan<float> U => _u;
    /// <summary>[Rank, N] row-major.</summary>
    public ReadOnlySpan<float> V => _v;
}
