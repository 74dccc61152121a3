namespace DeepShrink.Runtime.Execution;

/// <summary>The steps of a loaded model with their storage slots and when each slot dies.</summary>
internal sealed class ExecutionPlan
{
    public required Step[] Steps { get; init; }
    /// <summary>Number of storage slots a frame needs.</summary>
    public required int StorageCount { get; init; }
    /// <summary>Slot of the graph input (slot 0).</summary>
    public required int InputStorage { get; init; }
    /// <summary>Slot holding the graph output after the last step.</summary>
    public required int OutputStorage { get; init; }
    /// <summary>Slots to release after each step.</summary>
    public required int[][] ReleaseAfter { get; init; }
    /// <summary>Per-sample input shape.</summary>
    public required int[] InputShape { get; init; }
    /// <summary>Per-sample output shape.</summary>
    public required int[] OutputShape { get; init; }
    /// <summary>One report per weight layer.</summary>
    public required LayerReport[] Layers { get; init; }
}
