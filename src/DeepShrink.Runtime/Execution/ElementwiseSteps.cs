using System.Numerics.Tensors;

namespace DeepShrink.Runtime.Execution;

/// <summary>Element-wise activation: relu, leaky_relu (slope), tanh, sigmoid, gelu (tanh approximation).</summary>
internal sealed class ActivationStep(string name, string op, int input, int output, int size, float slope)
    : Step(name, op, [input], [size], output, size)
{
    private const float GeluC = 0.7978845608028654f; // sqrt(2/pi)

    /// <summary>Ops this step implements.</summary>
    public static readonly string[] Kinds = ["relu", "leaky_relu", "tanh", "sigmoid", "gelu"];

    /// <inheritdoc/>
    public override bool CanRunInPlace => true;

    /// <inheritdoc/>
    public override void Run(Frame f)
    {
        var x = In(f, 0);
        var y = Out(f);
        switch (Op)
        {
            case "relu": TensorPrimitives.Max(x, 0f, y); break;
            case "leaky_relu":
                for (int i = 0; i < y.Length; i++) y[i] = x[i] > 0 ? x[i] : slope * x[i];
                break;
            case "tanh": TensorPrimitives.Tanh(x, y); break;
            case "sigmoid": TensorPrimitives.Sigmoid(x, y); break;
            default:
                for (int i = 0; i < y.Length; i++)
                {
                    float v = x[i];
                    y[i] = 0.5f * v * (1f + MathF.Tanh(GeluC * (v + 0.044715f * v * v * v)));
                }
                break;
        }
        Finish(y);
    }
}
