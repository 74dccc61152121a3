namespace DeepShrink.Core.Autograd;

/// <summary>Reverse-mode differentiation over the recorded graph, and the no-grad scope.</summary>
public static class Engine
{
    [ThreadStatic] private static int t_noGradDepth;

    /// <summary>True when operations record the graph on this thread.</summary>
    public static bool IsGradEnabled => t_noGradDepth == 0;

    /// <summary>Disables graph recording on this thread until the returned scope is disposed.</summary>
    public static NoGradScope NoGrad() { t_noGradDepth++; return new NoGradScope(); }

    /// <summary>Scope returned by <see cref="NoGrad"/>.</summary>
    public readonly struct NoGradScope : IDisposable
    {
        /// <summary>Ends the scope.</summary>
        public void Dispose() => t_noGradDepth--;
    }

    /// <summary>
    /// Attaches <paramref name="node"/> to <paramref name="output"/> when recording is on and any
    /// input requires a gradient. Returns <paramref name="output"/>.
    /// </summary>
    public static Tensor Record(Tensor output, GradNode node)
    {
        if (!IsGradEnabled) return output;
        foreach (var t in node.Inputs)
        {
            if (t.RequiresGrad) { output.RequiresGrad = true; output.GradFn = node; return output; }
        }
        return output;
    }

    /// <summary>True when a result computed from these inputs would be recorded.</summary>
    public static bool WillRecord(params Tensor[] inputs)
    {
        if (!IsGradEnabled) return false;
        foreach (var t in inputs) if (t.RequiresGrad) return true;
        return false;
    }

    /// <summary>Runs backward from <paramref name="root"/>; gradients accumulate (+=) into leaves.</summary>
    public static void Backward(Tensor root, Tensor? gradOutput) => Backward(root, gradOutput, null);

    /// <summary>
    /// <see cref="Backward(Tensor, Tensor?)"/> that calls <paramref name="afterTensor"/> each time a tensor of
    /// the graph is done: its gradient stored (leaves, retained gradients) or its node run and the
    /// results handed on (for profilers).
    /// </summary>
    public static void Backward(Tensor root, Tensor? gradOutput, Action<Tensor>? afterTensor)
    {
        if (!root.RequiresGrad) throw new InvalidOperationException("Backward() on a tensor that does not require grad");
        if (gradOutput is null)
        {
            if (root.Size != 1) throw new InvalidOperationException($"Backward() without a gradient needs a scalar output, shape is {ShapeUtil.Format(root.Shape)}");
            gradOutput = Tensor.Full(1f, root.Shape);
        }
        else if (!ShapeUtil.SameShape(root.Shape, gradOutput.Shape))
            throw new ArgumentException($"gradient shape {ShapeUtil.Format(gradOutput.Shape)} does not match output {ShapeUtil.Format(root.Shape)}");

        var order = TopologicalOrder(root);
        var grads = new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance);
        grads[root] = gradOutput;
        using var _ = NoGrad();
        // Reverse topological order: every consumer of a tensor runs before the tensor's own node.
        for (int i = order.Count - 1; i >= 0; i--)
        {
            var t = order[i];
            if (!grads.Remove(t, out var g)) continue;
            if (t.HasHooks)
            {
                g = t.ApplyHooks(g);
                g.EngineOwned = false; // a hook may keep what it returns
            }
            if (t.GradFn is null || t.RetainGrad)
            {
                if (t.Grad is not null) Tensor.AccumulateInto(t.Grad, g);
                else if (t.GradFn is null && g.EngineOwned) { g.EngineOwned = false; t.Grad = g; } // kept without a copy
                else t.Grad = g.Clone();
            }
            if (t.GradFn is { } node) RunNode(node, g, grads);
            else Recycle(g);
            afterTensor?.Invoke(t);
        }
    }

    /// <summary>Runs <paramref name="node"/> on its output gradient <paramref name="g"/> and adds the results to <paramref name="grads"/>.</summary>
    private static void RunNode(GradNode node, Tensor g, Dictionary<Tensor, Tensor> grads)
    {
        var inGrads = node.Backward(g);
        if (inGrads.Length != node.Inputs.Length)
            throw new InvalidOperationException($"{node.OpName}.Backward returned {inGrads.Length} gradients for {node.Inputs.Length} inputs");
        if (!MarkAliases(g, inGrads)) Recycle(g);
        for (int k = 0; k < inGrads.Length; k++)
        {
            var inp = node.Inputs[k];
            var ig = inGrads[k];
            if (ig is null || !inp.RequiresGrad) continue;
            if (!ShapeUtil.SameShape(ig.Shape, inp.Shape))
                throw new InvalidOperationException($"{node.OpName}.Backward gave gradient {ShapeUtil.Format(ig.Shape)} for input {ShapeUtil.Format(inp.Shape)}");
            if (!grads.TryGetValue(inp, out var prev)) grads[inp] = ig;
            else if (prev.EngineOwned)
            {   // prev is the engine's alone: add in place
                Tensor.AccumulateInto(prev, ig);
                Recycle(ig);
            }
            else
            {   // never add in place into a tensor a node may have handed to several inputs
                var sum = prev.ContiguousData().Clone();
                Tensor.AccumulateInto(sum, ig);
                grads[inp] = sum;
            }
        }
    }

    /// <summary>
    /// Clears <see cref="Tensor.EngineOwned"/> on results that share storage with one another (a node may
    /// hand one tensor to several inputs); returns true when a result shares storage with the node's
    /// incoming gradient <paramref name="g"/>, which must then not be recycled.
    /// </summary>
    private static bool MarkAliases(Tensor g, Tensor?[] inGrads)
    {
        bool aliasG = false;
        for (int k = 0; k < inGrads.Length; k++)
        {
            if (inGrads[k] is not { } a) continue;
            if (ReferenceEquals(a.Storage, g.Storage)) aliasG = true;
            for (int j = 0; j < k; j++)
                if (inGrads[j] is { } b && ReferenceEquals(a.Storage, b.Storage)) { a.EngineOwned = false; b.EngineOwned = false; }
        }
        return aliasG;
    }

    /// <summary>Returns an engine-owned gradient's storage to <see cref="GradBufferPool"/> once it has been consumed.</summary>
    private static void Recycle(Tensor g)
    {
        if (!g.EngineOwned) return;
        g.EngineOwned = false;
        if (g.Offset == 0 && g.Size == g.Storage.Length) GradBufferPool.Return(g.Storage);
    }

    private static List<Tensor> TopologicalOrder(Tensor root)
    {
        var order = new List<Tensor>();
        var visited = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(Tensor t, int next)>();
        stack.Push((root, 0)); visited.Add(root);
        while (stack.Count > 0)
        {
            var (t, next) = stack.Pop();
            var inputs = t.GradFn?.Inputs;
            if (inputs is not null && next < inputs.Length)
            {
                stack.Push((t, next + 1));
                var c = inputs[next];
                if (c.RequiresGrad && visited.Add(c)) stack.Push((c, 0));
            }
            else order.Add(t);
        }
        return order; // post-order: inputs before outputs
    }
}
