namespace DeepShrink.Cli.Infrastructure;

/// <summary>Opens ONNX files for inference through ONNX Runtime.</summary>
public static class OnnxModels
{
    /// <summary>Opens an ONNX model.</summary>
    public static IClassifier Open(string path) => throw new CliException($"{path}: ONNX inference is not available yet");
}
