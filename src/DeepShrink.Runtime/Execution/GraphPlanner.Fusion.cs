using DeepShrink.Core.Graph;

namespace DeepShrink.Runtime.Execution;

internal sealed partial class GraphPlanner
{
    /// <summary>
    /// Fuses a residual <c>add</c> (and a sole following <c>relu</c>) into the convolution step just planned when one
    /// of the add's inputs is that convolution's output and nothing else reads it: the convolution adds the other
    /// input in its epilogue, saving the add's pass over memory and its step.
    /// </summary>
    private bool TryFuseResidual(int index, GraphNode n, (int[] Shape, int Storage) a, (int[] Shape, int Storage) b)
    {
        if (!_options.PackConvolutions || _steps.Count == 0 || _steps[^1] is not ConvStep conv || conv.FuseRelu || conv.HasResidual) return false;
        (int[] Shape, int Storage) other;
        if (conv.Output == a.Storage && b.Storage != a.Storage) other = b;
        else if (conv.Output == b.Storage && a.Storage != b.Storage) other = a;
        else return false;
        if (!DiesAt(conv.Output, index)) return false;
        conv.FuseResidual(other.Storage);
        if (SoleReluConsumer(index, n.Output) is int relu)
        {
            conv.FuseRelu = true;
            _absorbed.Add(relu);
        }
        Define(n.Output, other.Shape, conv.Output);
        return true;
    }
}
