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

    /// <summary>
    /// Fuses a max pool into the few-channel convolution step just planned (an image network's stem: conv, ReLU,
    /// 3 x 3 / 2 max pool) when the pool reads that convolution's output and nothing else does.
    /// </summary>
    private bool TryFusePool(int index, GraphNode n, (int[] Shape, int Storage) x)
    {
        if (_steps.Count == 0 || _steps[^1] is not ConvStep conv || conv.Output != x.Storage || x.Shape.Length != 3 || !DiesAt(x.Storage, index)) return false;
        var a = PoolAttrs.Of(n);
        var g = new Core.Kernels.PoolGeometry(1, x.Shape[0], x.Shape[1], x.Shape[2], a.KernelH, a.KernelW, a.StrideH, a.StrideW, a.PadH, a.PadW);
        if (conv.WithPool(g) is not { } fused) return false;
        _steps[^1] = new ConvPoolStep($"{conv.Name}+{n.Name}", conv.Inputs[0], conv.InputSizes[0], fused) { Output = conv.Output, FuseRelu = conv.FuseRelu };
        Define(n.Output, [g.C, g.OH, g.OW], conv.Output);
        return true;
    }
}
