namespace DeepShrink.Compression.Sharing;

/// <summary>
/// A weight-shared (codebook-quantised) tensor: every kept weight refers to one of the centroids;
/// pruned weights (mask 0) have index -1 and value 0.
/// </summary>
public sealed class SharedLayer
{
    /// <summary>Parameter name (e.g. <c>fc1.weight</c>).</summary>
    public string Name { get; }
    /// <summary>Bits per index (codebook size 2^Bits).</summary>
    public int Bits { get; }
    /// <summary>Centroid values, ascending.</summary>
    public float[] Centroids { get; set; }
    /// <summary>Centroid index per weight, or -1 for pruned weights.</summary>
    public int[] Assignments { get; }

    /// <summary>Creates a layer.</summary>
    public SharedLayer(string name, int bits, float[] centroids, int[] assignments)
    {
        if (bits < 1 || bits > 16) throw new ArgumentOutOfRangeException(nameof(bits), "bits must be in [1, 16]");
        if (centroids.Length > (1 << bits)) throw new ArgumentException($"{centroids.Length} centroids do not fit in {bits} bits");
        Name = name; Bits = bits; Centroids = centroids; Assignments = assignments;
    }

    /// <summary>Writes centroid values into <paramref name="weights"/> (0 where pruned).</summary>
    public void WriteWeights(Span<float> weights)
    {
        for (int i = 0; i < Assignments.Length; i++)
            weights[i] = Assignments[i] < 0 ? 0f : Centroids[Assignments[i]];
    }

    /// <summary>Per-centroid sums of <paramref name="grad"/> (Deep Compression eq. 3: dL/dC_k = sum over I_ij = k of dL/dW_ij).</summary>
    public double[] CentroidGradients(ReadOnlySpan<float> grad)
    {
        var g = new double[Centroids.Length];
        for (int i = 0; i < Assignments.Length; i++)
            if (Assignments[i] >= 0) g[Assignments[i]] += grad[i];
        return g;
    }

    /// <summary>Number of weights per centroid.</summary>
    public int[] Counts()
    {
        var c = new int[Centroids.Length];
        foreach (var a in Assignments) if (a >= 0) c[a]++;
        return c;
    }
}
