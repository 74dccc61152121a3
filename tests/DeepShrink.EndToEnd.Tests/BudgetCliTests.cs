using System.Text.Json.Nodes;
using DeepShrink.Data;

namespace DeepShrink.EndToEnd.Tests;

/// <summary>A stated accuracy budget is kept, or <c>compress</c> exits 3 without writing the output (issue 17).</summary>
public sealed class BudgetCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("deepshrink-budget-").FullName;
    private string P(string name) => Path.Combine(_dir, name);
    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    [Fact]
    public void AMissedBudgetExits3_WritesTheReport_AndKeepsTheResultBesideNotAtTheOutput()
    {
        SyntheticData.WriteIdxDirectory(P("idx"), 400, 200, numClasses: 10, seed: 4);
        string data = "idx:" + P("idx");
        var (code, _, err) = CliEndToEndTests.Run("train", "--model", "lenet-300-100", "--dataset", data, "--epochs", "3", "--val", "50", "--seed", "5", "--out", P("m.safetensors"));
        Assert.True(code == 0, err);
        File.WriteAllText(P("crush.yaml"), """
            version: 1
            components:
              pruner: {type: magnitude-pruning, sparsity: 0.995, max_drop: 0.3}
            policies:
              - {component: pruner, start_epoch: 1}
            """);
        (code, _, err) = CliEndToEndTests.Run("compress", "--model", P("m.safetensors"), "--recipe", P("crush.yaml"), "--dataset", data,
            "--max-drop", "0", "--out", P("out.dsz"), "--json", P("r.json"));
        Assert.Equal(3, code);
        Assert.Contains("budget not met", err);
        Assert.Single(err.Trim().Split('\n'), l => l.StartsWith("error:", StringComparison.Ordinal));
        Assert.False(File.Exists(P("out.dsz")));
        Assert.True(File.Exists(P("out.over-budget.dsz")));
        var json = JsonNode.Parse(File.ReadAllText(P("r.json")))!;
        Assert.False(json["budget_met"]!.GetValue<bool>());
        Assert.True(json["accuracy_drop_pp"]!.GetValue<double>() > 0);
        Assert.EndsWith("out.over-budget.dsz", json["out"]!.GetValue<string>());
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));  // no staged or temporary file left
    }
}
