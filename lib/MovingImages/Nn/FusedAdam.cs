using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace MovingImages.Nn;

/// <summary>
/// libtorch's fused CPU Adam (<c>torch._fused_adam_</c>, what PyTorch's <c>Adam(fused=True)</c> runs): one pass over each
/// parameter reads the parameter, its gradient and both moments once and writes them once, where the step written
/// with tensor operations makes about ten passes. TorchSharp has no binding for it; this calls the operator's C++ entry
/// point (<c>at::_ops::_fused_adam_::call</c>, through libtorch's dispatcher) directly.
/// </summary>
/// <remarks>
/// The arithmetic is Adam's (PyTorch's formula, bias corrections in double), the same as <c>optim.Adam.step()</c> up to
/// float rounding. The kernel indexes memory linearly, so every tensor must be a contiguous float32 CPU tensor of its
/// parameter's shape; <see cref="Supports"/> says whether a set qualifies, and callers fall back to the tensor-operation
/// step when it does not (or when the entry point is missing from the libtorch that is loaded).
/// </remarks>
internal static class FusedAdam
{
    static bool _unavailable;

    /// <summary>Whether <see cref="Step"/> can update these tensors (and libtorch has the entry point).</summary>
    public static bool Supports(IReadOnlyList<Tensor> parameters, IReadOnlyList<Tensor> grads, IReadOnlyList<Tensor> expAvgs, IReadOnlyList<Tensor> expAvgSqs)
    {
        if (_unavailable || !OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64) return false;
        for (int i = 0; i < parameters.Count; i++)
            foreach (var t in new[] { parameters[i], grads[i], expAvgs[i], expAvgSqs[i] })
                if (t.dtype != ScalarType.Float32 || t.device_type != DeviceType.CPU || !t.is_contiguous() || !t.shape.SequenceEqual(parameters[i].shape))
                    return false;
        return true;
    }

    /// <summary>
    /// One Adam update of every parameter at step <paramref name="step"/> (1 for the first update; the caller counts
    /// steps). Returns false, touching nothing, when libtorch has no fused Adam entry point.
    /// </summary>
    public static bool Step(IReadOnlyList<Tensor> parameters, IReadOnlyList<Tensor> grads, IReadOnlyList<Tensor> expAvgs, IReadOnlyList<Tensor> expAvgSqs,
        long step, double lr, double beta1, double beta2, double eps)
    {
        int n = parameters.Count;
        if (grads.Count != n || expAvgs.Count != n || expAvgSqs.Count != n) throw new ArgumentException("one gradient and two moments per parameter");
        if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), step, "steps count from 1");
        if (_unavailable) return false;
        using var noGrad = torch.no_grad();
        using var stepTensor = torch.tensor(new[] { (float)step });
        // at::TensorList is (const at::Tensor*, size_t); an at::Tensor is one pointer (its TensorImpl), and a TorchSharp
        // handle points to an at::Tensor: the lists are arrays of those pointers, borrowed for the call.
        var impls = new IntPtr[5 * n];
        for (int i = 0; i < n; i++)
        {
            impls[i] = Impl(parameters[i]);
            impls[n + i] = Impl(grads[i]);
            impls[2 * n + i] = Impl(expAvgs[i]);
            impls[3 * n + i] = Impl(expAvgSqs[i]);
            impls[4 * n + i] = Impl(stepTensor);
        }
        var handle = GCHandle.Alloc(impls, GCHandleType.Pinned);
        try
        {
            nint at = handle.AddrOfPinnedObject(), size = IntPtr.Size;
            nuint count = (nuint)n;
            Call(at, count, at + n * size, count, at + 2 * n * size, count, at + 3 * n * size, count, IntPtr.Zero, 0, at + 4 * n * size, count,
                lr, beta1, beta2, 0, eps, false, false, NoTensor, NoTensor);
            GC.KeepAlive(parameters); GC.KeepAlive(grads); GC.KeepAlive(expAvgs); GC.KeepAlive(expAvgSqs);
            return true;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            _unavailable = true;
            return false;
        }
        finally
        {
            handle.Free();
        }
    }

    static IntPtr Impl(Tensor t) => Marshal.ReadIntPtr(t.Handle);

    // An empty std::optional<at::Tensor> (libstdc++: the payload, then the engaged flag; all zero is "no value").
    static readonly IntPtr NoTensor = ZeroedBlock(32);

    static IntPtr ZeroedBlock(int bytes)
    {
        var p = Marshal.AllocHGlobal(bytes);
        for (int i = 0; i < bytes; i += 8) Marshal.WriteInt64(p, i, 0);
        return p;
    }

    // void at::_ops::_fused_adam_::call(TensorList self, TensorList grads, TensorList exp_avgs, TensorList exp_avg_sqs,
    //     TensorList max_exp_avg_sqs, TensorList state_steps, double lr, double beta1, double beta2, double weight_decay,
    //     double eps, bool amsgrad, bool maximize, const std::optional<Tensor>& grad_scale, const std::optional<Tensor>& found_inf)
    // Each TensorList (two machine words) is written as its two words: the System V x86-64 ABI passes it the same way.
    [DllImport("torch_cpu", EntryPoint = "_ZN2at4_ops12_fused_adam_4callEN3c108ArrayRefINS_6TensorEEES5_S5_S5_S5_S5_dddddbbRKSt8optionalIS4_ES9_")]
    static extern void Call(IntPtr self, nuint selfCount, IntPtr grads, nuint gradsCount, IntPtr expAvgs, nuint expAvgsCount,
        IntPtr expAvgSqs, nuint expAvgSqsCount, IntPtr maxExpAvgSqs, nuint maxExpAvgSqsCount, IntPtr steps, nuint stepsCount,
        double lr, double beta1, double beta2, double weightDecay, double eps,
        [MarshalAs(UnmanagedType.U1)] bool amsgrad, [MarshalAs(UnmanagedType.U1)] bool maximize, IntPtr gradScale, IntPtr foundInf);
}
