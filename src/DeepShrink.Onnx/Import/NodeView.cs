using Onnx;
using AttrType = Onnx.AttributeProto.Types.AttributeType;

namespace DeepShrink.Onnx.Import;

/// <summary>One ONNX node as the converters see it: its inputs (runtime values or constants) and typed attributes.</summary>
internal sealed class NodeView(NodeProto proto, string name, ImportContext ctx)
{
    /// <summary>The protobuf node.</summary>
    public NodeProto Proto { get; } = proto;
    /// <summary>Sanitised, unique graph node name.</summary>
    public string Name { get; } = name;
    /// <summary>The ONNX operator type.</summary>
    public string Op => Proto.OpType;
    /// <summary>The default-domain opset.</summary>
    public int Opset => ctx.Opset;

    /// <summary>"node 'X' (Op, opset N)" for messages.</summary>
    public string Where => $"node '{(Proto.Name.Length > 0 ? Proto.Name : Name)}' ({Op}, opset {ctx.Opset})";

    /// <summary>Number of inputs, counting empty (absent optional) names.</summary>
    public int InputCount => Proto.Input.Count;

    /// <summary>True when input <paramref name="i"/> is given (not absent and not the empty name).</summary>
    public bool HasInput(int i) => i < Proto.Input.Count && Proto.Input[i].Length > 0;

    /// <summary>True when input <paramref name="i"/> is a constant.</summary>
    public bool IsConst(int i) => HasInput(i) && ctx.TryConst(Proto.Input[i]) is not null;

    /// <summary>Input <paramref name="i"/> as a runtime value; error when it is a constant or missing.</summary>
    public ImportContext.Value Rt(int i)
    {
        if (!HasInput(i)) throw Fail($"input {i} is missing");
        if (ctx.TryConst(Proto.Input[i]) is not null) throw Fail($"input {i} ('{Proto.Input[i]}') is a constant, expected the data flowing from the model input");
        return ctx.Runtime(Proto.Input[i]);
    }

    /// <summary>Input <paramref name="i"/> as a constant; error when it is a runtime value or missing.</summary>
    public OnnxConst Const(int i, string role)
    {
        if (!HasInput(i)) throw Fail($"{role} (input {i}) is missing");
        return ctx.TryConst(Proto.Input[i]) ?? throw Fail($"{role} (input {i}, '{Proto.Input[i]}') must be a constant (an initializer or a Constant node)");
    }

    /// <summary>Input <paramref name="i"/> as a constant, or null when absent.</summary>
    public OnnxConst? OptConst(int i, string role) => HasInput(i) ? Const(i, role) : null;

    /// <summary>Output <paramref name="i"/> name.</summary>
    public string Output(int i = 0) => Proto.Output[i];

    /// <summary>Fails unless only the first output is used by the rest of the model.</summary>
    public void OnlyFirstOutputUsed()
    {
        for (int i = 1; i < Proto.Output.Count; i++)
            if (Proto.Output[i].Length > 0 && ctx.IsUsed(Proto.Output[i]))
                throw Fail($"output {i} ('{Proto.Output[i]}') is used; only the first output is supported");
    }

    private AttributeProto? Attr(string n) => Proto.Attribute.FirstOrDefault(a => a.Name == n);

    /// <summary>True when the attribute is present.</summary>
    public bool Has(string n) => Attr(n) is not null;

    /// <summary>Integer attribute with a default.</summary>
    public long Int(string n, long dflt)
    {
        var a = Attr(n);
        if (a is null) return dflt;
        if (a.Type != AttrType.Int && a.Type != AttrType.Undefined) throw Fail($"attribute '{n}' is {a.Type}, expected INT");
        return a.I;
    }

    /// <summary>Float attribute with a default.</summary>
    public float Float(string n, float dflt)
    {
        var a = Attr(n);
        if (a is null) return dflt;
        if (a.Type != AttrType.Float && a.Type != AttrType.Undefined) throw Fail($"attribute '{n}' is {a.Type}, expected FLOAT");
        return a.F;
    }

    /// <summary>Integer-list attribute, or null when absent.</summary>
    public long[]? Ints(string n)
    {
        var a = Attr(n);
        if (a is null) return null;
        if (a.Type != AttrType.Ints && a.Type != AttrType.Undefined) throw Fail($"attribute '{n}' is {a.Type}, expected INTS");
        if (a.Ints.Count > 64) throw Fail($"attribute '{n}' has {a.Ints.Count} values");
        return a.Ints.ToArray();
    }

    /// <summary>String attribute with a default.</summary>
    public string Str(string n, string dflt)
    {
        var a = Attr(n);
        if (a is null) return dflt;
        if (a.Type != AttrType.String && a.Type != AttrType.Undefined) throw Fail($"attribute '{n}' is {a.Type}, expected STRING");
        return a.S.ToStringUtf8();
    }

    /// <summary>Tensor attribute, or null.</summary>
    public TensorProto? TensorAttr(string n) => Attr(n)?.T;

    /// <summary>Float-list attribute, or null.</summary>
    public float[]? Floats(string n) => Attr(n)?.Floats.ToArray();

    /// <summary>The raw attribute (for Constant's value_* forms).</summary>
    public AttributeProto? Raw(string n) => Attr(n);

    /// <summary>A one-line error naming this node, its operator and the opset.</summary>
    public OnnxImportException Fail(string message) => new($"{Where}: {message}");
}
