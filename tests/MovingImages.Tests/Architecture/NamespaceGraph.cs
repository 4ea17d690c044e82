using Mono.Cecil;
using Mono.Cecil.Cil;

namespace MovingImages.Tests.Architecture;

/// <summary>
/// Which namespaces of an assembly use which, read from the compiled IL with Mono.Cecil: base types, interfaces,
/// fields, properties, method signatures, locals and every type or member a method body names (calls, casts,
/// <c>typeof</c>, field access, generic arguments). Compiler-generated nested types (lambdas, iterators, async state
/// machines) count for the type they are written in.
/// </summary>
public sealed class NamespaceGraph
{
    /// <summary>Uses within one assembly: namespace → namespaces it uses (itself excluded) → one example each.</summary>
    public IReadOnlyDictionary<string, SortedDictionary<string, string>> Uses { get; }

    /// <summary>The names of the assemblies the assembly references.</summary>
    public IReadOnlyList<string> References { get; }

    NamespaceGraph(Dictionary<string, SortedDictionary<string, string>> uses, List<string> references)
    {
        Uses = uses;
        References = references;
    }

    /// <summary>Reads the graph of the assembly at <paramref name="path"/>, keeping namespaces that start with
    /// <paramref name="prefix"/>.</summary>
    public static NamespaceGraph Read(string path, string prefix)
    {
        using var module = ModuleDefinition.ReadModule(path);
        var uses = new Dictionary<string, SortedDictionary<string, string>>();
        foreach (var type in module.GetTypes())
        {
            var from = Outermost(type).Namespace;
            if (!from.StartsWith(prefix, StringComparison.Ordinal)) continue;
            if (!uses.TryGetValue(from, out var used)) uses[from] = used = new SortedDictionary<string, string>();
            void Add(TypeReference? t, string where)
            {
                foreach (var ns in Namespaces(t))
                    if (ns != from && ns.StartsWith(prefix, StringComparison.Ordinal))
                        used.TryAdd(ns, $"{type.FullName} ({where})");
            }
            Add(type.BaseType, "base type");
            foreach (var i in type.Interfaces) Add(i.InterfaceType, "interface");
            foreach (var f in type.Fields) Add(f.FieldType, $"field {f.Name}");
            foreach (var p in type.Properties) Add(p.PropertyType, $"property {p.Name}");
            foreach (var m in type.Methods)
            {
                Add(m.ReturnType, $"{m.Name} returns");
                foreach (var p in m.Parameters) Add(p.ParameterType, $"{m.Name} parameter {p.Name}");
                if (!m.HasBody) continue;
                foreach (var v in m.Body.Variables) Add(v.VariableType, $"{m.Name} local");
                foreach (var ins in m.Body.Instructions)
                {
                    switch (ins.Operand)
                    {
                        case TypeReference t: Add(t, $"{m.Name} body"); break;
                        case MethodReference mr:
                            Add(mr.DeclaringType, $"{m.Name} calls {mr.Name}");
                            Add(mr.ReturnType, $"{m.Name} calls {mr.Name}");
                            foreach (var p in mr.Parameters) Add(p.ParameterType, $"{m.Name} calls {mr.Name}");
                            if (mr is GenericInstanceMethod g) foreach (var a in g.GenericArguments) Add(a, $"{m.Name} calls {mr.Name}");
                            break;
                        case FieldReference fr:
                            Add(fr.DeclaringType, $"{m.Name} uses {fr.Name}");
                            Add(fr.FieldType, $"{m.Name} uses {fr.Name}");
                            break;
                    }
                }
            }
        }
        return new NamespaceGraph(uses, module.AssemblyReferences.Select(r => r.Name).ToList());
    }

    static TypeDefinition Outermost(TypeDefinition t)
    {
        while (t.DeclaringType is not null) t = t.DeclaringType;
        return t;
    }

    static IEnumerable<string> Namespaces(TypeReference? t)
    {
        if (t is null || t is GenericParameter) yield break;
        if (t is TypeSpecification spec)
        {
            foreach (var ns in Namespaces(spec.ElementType)) yield return ns;
            if (t is GenericInstanceType g)
                foreach (var a in g.GenericArguments)
                    foreach (var ns in Namespaces(a)) yield return ns;
            yield break;
        }
        while (t.DeclaringType is not null) t = t.DeclaringType;
        yield return t.Namespace;
    }
}
