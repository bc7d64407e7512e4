import re,os,collections,sys
root='src'
mods=[d for d in os.listdir(root) if os.path.isdir(os.path.join(root,d))]+[f[:-3] for f in os.listdir(root) if f.endswith('.rs') and f not in ('lib.rs','main.rs')]
edges=collections.defaultdict(set)
for dp,_,fs in os.walk(root):
    for f in fs:
        if not f.endswith('.rs'): continue
        p=os.path.join(dp,f); rel=os.path.relpath(p,root)
        top=rel.split(os.sep)[0].replace('.rs','')
        if top in ('lib','main'): continue
        src=open(p).read()
        src=src.split('#[cfg(test)]')[0]; src='\n'.join(l for l in src.splitlines() if not l.strip().startswith('//'))
        for m in re.findall(r'crate::([a-z_]+)',src):
            if m!=top and m in mods: edges[top].add(m)
# find cycles
def dfs(n,stack,seen,out):
    for m in edges[n]:
        if m in stack: out.add(tuple(stack[stack.index(m):]+[m]))
        elif m not in seen: seen.add(m); dfs(m,stack+[m],seen,out)
out=set()
for n in list(edges): dfs(n,[n],{n},out)
for k in sorted(edges): print(k,'->',', '.join(sorted(edges[k])))
print('cycles:',out or 'none')
