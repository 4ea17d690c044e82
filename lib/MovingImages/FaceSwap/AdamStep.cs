using MovingImages.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MovingImages.FaceSwap;

/// <summary>
/// Adam's parameter update — the arithmetic of TorchSharp's <c>optim.Adam.step()</c>, on that optimizer's own state (so
/// checkpoints keep TorchSharp's format) — with every number passed to libtorch as a Scalar that is disposed after use.
/// </summary>
/// <remarks>
/// TorchSharp's <c>Adam.step()</c> converts its numbers to Scalars implicitly (β₁, 1 − β₁, β₂, 1 − β₂, the bias
/// corrections, ε and the step size, for every parameter: ~350 per step of the chapter's model). Nothing keeps those
/// Scalars alive during the native call, so a collection can queue one for finalization and the finalizer thread can free
/// it while libtorch reads it: "Expected false to be true … toFloat at c10/core/Scalar.h" exceptions, or a wrong number
/// read silently. <c>movingimages soak</c> (training under forced collections) reproduces it.
/// </remarks>
public static class AdamStep
{
    /// <summary>One update of every parameter of <paramref name="optimizer"/> that has a gradient; Adam runs
    /// <see cref="Run"/>, other optimizers their own <c>step()</c>.</summary>
    public static void Apply(optim.Optimizer optimizer)
    {
        if (optimizer is TorchSharp.Modules.Adam adam) Run(adam);
        else optimizer.step();
    }

    /// <summary>
    /// One Adam update (no weight decay, AMSGrad or maximize: what our training uses; others are refused): libtorch's
    /// fused kernel (<see cref="Nn.FusedAdam"/>, one pass over each parameter) when the parameters allow it, else
    /// <see cref="RunUnfused"/>. Both keep the optimizer's own state, so checkpoints do not depend on which ran.
    /// </summary>
    public static void Run(TorchSharp.Modules.Adam adam) => Update(adam, fused: true);

    /// <summary>One Adam update written with tensor operations: TorchSharp's <c>Adam.step()</c> arithmetic, bit for bit.</summary>
    public static void RunUnfused(TorchSharp.Modules.Adam adam) => Update(adam, fused: false);

    static void Update(TorchSharp.Modules.Adam adam, bool fused)
    {
        var dict = adam.state_dict();
        var parameters = adam.parameters().ToArray();
        if (dict.Options.Count != 1 || dict.State.Count != parameters.Length)
            throw new NotSupportedException("AdamStep handles one parameter group");
        var options = (TorchSharp.Modules.Adam.Options)dict.Options[0];
        if (options.weight_decay is not (null or 0) || options.amsgrad == true || options.maximize == true)
            throw new NotSupportedException("AdamStep handles Adam without weight decay, AMSGrad or maximize");
        double beta1 = options.beta1!.Value, beta2 = options.beta2!.Value, lr = options.LearningRate!.Value;

        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        if (fused && TryFused(parameters, dict, lr, beta1, beta2, options.eps!.Value)) return;
        using Scalar b1 = beta1.ToScalar(), oneMinusB1 = (1 - beta1).ToScalar(), b2 = beta2.ToScalar(), oneMinusB2 = (1 - beta2).ToScalar(),
            eps = options.eps!.Value.ToScalar();
        for (int i = 0; i < parameters.Length; i++)
        {
            var grad = parameters[i].grad;
            if (grad is null) continue;
            var state = (TorchSharp.Modules.Adam.State)dict.State[i];
            state.step += 1;
            double correction1 = 1 - Math.Pow(beta1, state.step), correction2 = 1 - Math.Pow(beta2, state.step);
            state.exp_avg.mul_(b1).add_(grad, oneMinusB1);
            state.exp_avg_sq.mul_(b2).addcmul_(grad, grad.conj(), oneMinusB2);
            using Scalar root = Math.Sqrt(correction2).ToScalar(), stepSize = (-(lr / correction1)).ToScalar();
            var denominator = state.exp_avg_sq.sqrt().div_(root).add_(eps, Scalars.OneInteger);
            parameters[i].addcdiv_(state.exp_avg, denominator, stepSize);
        }
    }

    static bool TryFused(TorchSharp.Modules.Parameter[] parameters, optim.Optimizer.StateDictionary dict, double lr, double beta1, double beta2, double eps)
    {
        var updated = new List<Tensor>();
        var grads = new List<Tensor>();
        var states = new List<TorchSharp.Modules.Adam.State>();
        for (int i = 0; i < parameters.Length; i++)
        {
            if (parameters[i].grad is not { } grad) continue;
            updated.Add(parameters[i]);
            grads.Add(grad);
            states.Add((TorchSharp.Modules.Adam.State)dict.State[i]);
        }
        if (states.Count == 0) return true;
        long step = states[0].step + 1;
        if (states.Any(s => s.step + 1 != step)) return false;                 // one step count for all: the kernel takes one per tensor, we pass one
        var expAvgs = states.Select(s => s.exp_avg).ToList();
        var expAvgSqs = states.Select(s => s.exp_avg_sq).ToList();
        if (!Nn.FusedAdam.Supports(updated, grads, expAvgs, expAvgSqs)) return false;
        if (!Nn.FusedAdam.Step(updated, grads, expAvgs, expAvgSqs, step, lr, beta1, beta2, eps)) return false;
        foreach (var s in states) s.step = step;
        return true;
    }
}
