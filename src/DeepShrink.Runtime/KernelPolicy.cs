namespace DeepShrink.Runtime;

/// <summary>How the runtime picks the storage (and so the kernel) of each weight matrix at load time.</summary>
public enum KernelPolicy
{
    /// <summary>Time every candidate (compressed and dense) on this machine and keep the fastest.</summary>
    Auto,
    /// <summary>Keep the compressed form whenever the codec has one (sparse, codebook, low-rank).</summary>
    Compressed,
    /// <summary>Always decode to dense float32.</summary>
    Dense,
}
