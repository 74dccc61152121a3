using DeepShrink.Core.Graph;

namespace DeepShrink.Runtime.Execution;

// PENDING: conv2d and pooling run on the Core conv/pool kernels (Im2Col, PoolKernels), not yet in main.
internal sealed partial class GraphPlanner
{
    private static (Step, int[]) PlanConv(GraphNode n, (int[] Shape, int Storage) x)
        => throw new NotSupportedException($"{n.Op} needs the Core convolution kernels, which this build does not have yet");

    private static (Step, int[]) PlanPool(GraphNode n, (int[] Shape, int Storage) x)
        => throw new NotSupportedException($"{n.Op} needs the Core pooling kernels, which this build does not have yet");
}
