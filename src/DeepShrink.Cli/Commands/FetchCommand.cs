using System.CommandLine;
using DeepShrink.Cli.Infrastructure;
using DeepShrink.Onnx.Import;

namespace DeepShrink.Cli.Commands;

/// <summary>The <c>fetch</c> verb: restores a pretrained model's NuGet package when missing and prints the model's path.</summary>
public static class FetchCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var name = new Argument<string>("MODEL") { Description = $"Pretrained model: {string.Join(", ", PretrainedModels.All.Select(m => m.Name))}" };
        var json = CommonOptions.Json();
        var cmd = new Command("fetch", "Download a pretrained ONNX model (NuGet restore into $DEEPSHRINK_CACHE or ~/.cache/deepshrink) and print its path");
        cmd.Arguments.Add(name);
        cmd.Options.Add(json);
        cmd.SetHandler(pr =>
        {
            var model = PretrainedModels.Get(pr.GetValue(name)!);
            var path = PretrainedModels.Fetch(model, line => Console.Error.WriteLine(line));
            var pre = PretrainedModels.PreprocessFile(model, path);
            Console.WriteLine(path);
            new JsonReport().Set("model", model.Name).Set("package", $"{model.PackageId} {model.Version}").Set("path", path)
                .Set("preprocess", pre).Set("bytes", new FileInfo(path).Length).WriteIfRequested(pr.GetValue(json));
            return 0;
        });
        return cmd;
    }
}
