using System.Runtime.CompilerServices;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Events;
using Microsoft.DotNet.Interactive.Formatting;

namespace MovingImages.Interactive;

/// <summary>The notebook cell that is running, and how to stop it.</summary>
/// <remarks>
/// Once <see cref="NotebookDisplay.Register"/> has run in a kernel, every later cell of that kernel is tracked, so that
/// an interrupt can ask the cell to stop through <see cref="CancellationToken"/>: our long work (video, camera, training,
/// conversion) ends within a frame or a step and finishes its outputs, and the kernel keeps everything the notebook
/// loaded. .NET cannot stop code that does not listen: such a cell is told so, and a second interrupt cancels its kernel
/// command as VS Code's stop button does (the code itself runs on until it returns; later cells wait for it).
/// </remarks>
public static class Cell
{
    /// <summary>How long an interrupted cell may take to stop before it is told that it does not listen.</summary>
    public static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(2);

    static readonly ConditionalWeakTable<Kernel, object> TrackedKernels = new();
    static Running? _running;

    /// <summary>
    /// Cancelled when the cell is stopped: Jupyter's interrupt (with the kernelspec that <c>movingimages notebook
    /// kernelspec</c> installs), VS Code's stop button (the kernel's Cancel command), the runner's timeout and Ctrl+C.
    /// Pass it to long work (<c>pipeline.RunAsync(cancellationToken: Cell.CancellationToken)</c>,
    /// <c>faceit.Train(…, cancellationToken: Cell.CancellationToken)</c>): the work stops within a frame or a step, finishes
    /// its outputs, and the kernel — with the loaded models — stays alive. <see cref="CancellationToken.None"/> outside a kernel.
    /// </summary>
    public static CancellationToken CancellationToken
    {
        get
        {
            var context = KernelInvocationContext.Current;
            if (context == null) return CancellationToken.None;
            return Volatile.Read(ref _running) is { } cell && ReferenceEquals(cell.Context, context) ? cell.Token : context.CancellationToken;
        }
    }

    /// <summary>
    /// Interrupts the running cell: the first time cancels its <see cref="CancellationToken"/> (and, if the cell is still
    /// running after <see cref="StopGrace"/>, writes to its output that it does not stop by itself); the second time
    /// cancels its kernel command. Safe from any thread. Returns false when no tracked cell is running.
    /// </summary>
    public static bool Interrupt()
    {
        if (Volatile.Read(ref _running) is not { } cell) return false;
        _ = cell.Stop() ? TellIfStillRunningAsync(cell) : CancelCommandAsync(cell);
        return true;
    }

    static async Task TellIfStillRunningAsync(Running cell)
    {
        await Task.Delay(StopGrace).ConfigureAwait(false);
        if (!ReferenceEquals(Volatile.Read(ref _running), cell)) return;
        cell.Context.Publish(new StandardErrorValueProduced(cell.Context.Command, [new FormattedValue("text/plain",
            $"Interrupted, but this cell is still running after {StopGrace.TotalSeconds:0} s: its code does not stop on " +
            "Cell.CancellationToken. Interrupt again to cancel the cell (its code runs on until it returns, and later cells " +
            "wait for it), or restart the kernel.\n")]));
    }

    static async Task CancelCommandAsync(Running cell)
    {
        if (!ReferenceEquals(Volatile.Read(ref _running), cell)) return;
        try
        {
            await cell.Kernel.RootKernel.SendAsync(new Cancel()).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException)
        {
            // The kernel is shutting down: nothing left to cancel.
        }
    }

    /// <summary>Tracks the cells that <paramref name="kernel"/> runs from now on (once per kernel).</summary>
    internal static void Track(Kernel kernel)
    {
        lock (TrackedKernels)
        {
            if (TrackedKernels.TryGetValue(kernel, out _)) return;
            TrackedKernels.Add(kernel, new object());
        }
        kernel.AddMiddleware(async (command, context, next) =>
        {
            if (command is not SubmitCode)
            {
                await next(command, context);
                return;
            }
            var cell = new Running(kernel, context);
            Volatile.Write(ref _running, cell);
            try
            {
                await next(command, context);
            }
            finally
            {
                Interlocked.CompareExchange(ref _running, null, cell);
            }
        });
    }

    /// <summary>A cell while it runs: its kernel, its invocation context and the token that asks it to stop.</summary>
    sealed class Running(Kernel kernel, KernelInvocationContext context)
    {
        // Not disposed: code the cell started may read the token after the cell ended; it is garbage with the context.
        readonly CancellationTokenSource _stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        int _stopped;

        public Kernel Kernel { get; } = kernel;
        public KernelInvocationContext Context { get; } = context;
        public CancellationToken Token => _stop.Token;

        /// <summary>Asks the cell to stop; true the first time.</summary>
        public bool Stop()
        {
            if (Interlocked.Exchange(ref _stopped, 1) == 1) return false;
            _stop.Cancel();
            return true;
        }
    }
}
